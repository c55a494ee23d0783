/* repl.h - the interactive loop on a terminal (libedit). */
#ifndef REPL_H
#define REPL_H

#include "session.h"

/* Runs the REPL until :quit or end of input; returns the exit status. */
int repl_run(struct session *s);

#endif
