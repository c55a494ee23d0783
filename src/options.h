/* options.h - the one table of options: the command line's, the REPL's switches, the API's. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "session.h"

/* 0: a switch; 1: takes a value ("--precision" or "--precision=5"); -1: unknown. */
int options_arity(const char *name);

/* Sets an option by its command-line name; value NULL for a switch turned on
 * ("on"/"off" also work), or the value of "--name=value" when name has one.
 * False with the reason in *why (static text or owned by msg). */
bool options_set(struct session *s, const char *name, const char *value, struct sbuf *msg);

/* The current value into out ("on"/"off" for a switch); false when unknown. */
bool options_get(struct session *s, const char *name, struct sbuf *out);

/* Gives session to every option's value in from (:reset keeps the options). */
void options_copy(struct session *to, struct session *from);

/* The --help lines of every option, in the table's order. */
void options_help(struct sbuf *out);

#endif
