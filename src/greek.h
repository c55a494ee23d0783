/* greek.h - the Greek letters: their ASCII names, variants, and which are scalars by default. */
#ifndef GREEK_H
#define GREEK_H

#include <stdbool.h>

/* Maps an ASCII Greek name (theta, Sigma) to its letter; returns the input otherwise. */
const char *greek_canonical(const char *name);
/* The ASCII name of a Greek letter (θ -> theta), or NULL. */
const char *greek_ascii(const char *utf8);
/* Whether a canonical name is one of the Greek letters that are scalars by default. */
bool greek_is_scalar(const char *name);

#endif
