/* emit.h - code generation: a statement's value and derivative as a NumPy module
 * (--emit=numpy) or a C function over CBLAS/LAPACKE (--emit=c). */
#ifndef EMIT_H
#define EMIT_H

#include <stdio.h>

#include "session.h"

/* Prints the code for one statement to out, in the form s->emit_numpy or
 * s->emit_c asks for. call is the resolved statement before derivation: a
 * grad/hess/jacobian node (the code returns the function's value and the
 * derivative; hess also the gradient) or any other expression (the code
 * returns its value). result is call worked out and simplified.
 * The generated function's arguments are the free symbols, in the order of
 * their ASCII names. Prints nothing and returns false with the error in s->mc
 * when the statement cannot be emitted (a differential, a size no argument
 * has). Nodes stay owned by the session. */
bool emit_statement(struct session *s, struct expr *call, struct expr *result, FILE *out);

#endif
