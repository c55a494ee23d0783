/* solve.h - solving linear matrix equations in one unknown: solve(E = 0, Θ). */
#ifndef SOLVE_H
#define SOLVE_H

#include "session.h"

/* Solves lhs = rhs for the symbol x when the equation is linear in x with terms
 * A x, x B or constants (then x = A^-1 C or C B^-1), or Σ A_k x B_k (then vec(x)
 * through ⊗). Returns the simplified solution (for the Kronecker form, the
 * expression for vec(x) and *vec set), or NULL with the error in s->mc:
 * "not linear in Θ". */
struct expr *solve_linear(struct session *s, struct expr *lhs, struct expr *rhs, struct expr *x,
			  bool *vec);

#endif
