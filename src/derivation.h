/* derivation.h - --check-derivation: a written derivation checked step by step. */
#ifndef DERIVATION_H
#define DERIVATION_H

#include "session.h"

/* Checks the derivation in text (the file `where`): LaTeX align/align*,
 * equation, gather blocks (also \[ \] and $$ $$), or plain lines `f = ...`
 * followed by lines `= ...`. A line `f(θ) &= e` names the function; `&= e`
 * is a step, equal to the line before; `\nabla_θ f &= G` (∇_θ f, grad(f, θ))
 * is checked against the gradient of f and `d f &= D` against its
 * differential. Declarations come from `% matcalc: let ...` (LaTeX) or
 * `# matcalc: ...` / `let ...` lines (plain), or from the session already.
 * Prints one verdict per step, with the file's line number and the diagnosis
 * of a wrong one, then a summary; an unreadable step is reported with
 * line:col and a caret, and the next step is compared with the last readable
 * one. Sets s->status (1 a wrong step, 2 an unreadable one). False when an
 * error was reported. */
bool derivation_check(struct session *s, const char *where, const char *text, size_t len);

#endif
