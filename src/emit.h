/* emit.h - code generation: a statement's value and derivative as a NumPy module
 * (--emit=numpy, emit_numpy.c) or a C function over CBLAS/LAPACKE (--emit=c,
 * emit_c.c); emit.c holds what both generators share. */
#ifndef EMIT_H
#define EMIT_H

#include <stdint.h>
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

/* ---- between the generators: emit.c, emit_numpy.c and emit_c.c only ---- */

/* An argument of the generated function: a free symbol of the statement. */
struct earg {
	const struct expr *sym;
	char *ascii; /* the symbol's ASCII name, the sort key (owned) */
	char *name;  /* its parameter name: ascii, made safe for the language (owned) */
	/* referenced by the generated body: the value, its rows, its columns
	 * (C casts what is not to void: -Wunused-parameter) */
	bool used, used_rows, used_cols;
};

/* What the emitter knows of a node: looked up by pointer (nodes are hash-consed). */
struct ninfo {
	const struct expr *e;
	int uses; /* references from the generated code (NumPy's first pass counts them) */
	int temp; /* the temporary tK holding the node, or -1 */
	bool seen;
	bool standalone; /* NumPy: an inverse computed as a value, not only solved with */
};

/* One output of the generated function: value, gradient, hessian or jacobian. */
struct eout {
	const char *label;
	struct expr *e;
	int rows, cols; /* the size an I or 0 of unknown size takes */
};

/* A product of consecutive chain factors (X θ inside X^T X θ): not a node,
 * but the same factors give the same value wherever they stand, so NumPy
 * computes a repeated one once, like a shared node. */
struct segent {
	const struct expr **key; /* the factors as they stand (owned array) */
	int n;
	uint32_t hash;
	int uses, temp;
};

/* A line of the generated C: its right-hand side and temporary. */
struct cline {
	char *rhs; /* owned */
	uint32_t hash;
	int temp;
};

struct em {
	struct session *s;
	struct mc *mc;
	bool c; /* the C backend, else NumPy */
	struct earg *args;
	int nargs, capargs;
	struct ninfo *tab;
	size_t cap, len;
	struct sbuf body; /* the generated function's statements */
	int ntemps;
	bool counting;	     /* NumPy's first pass: count uses, print nothing */
	bool need_sigmoid;   /* NumPy: the module defines _sigmoid */
	bool need_plus_diag; /* NumPy: the module defines _plus_diag */
	bool used_logdet;
	struct segent *segs; /* NumPy: products of chain factors, by their factors */
	size_t nsegs, capsegs;
	struct cline *lines; /* C: every right-hand side printed, by its text */
	size_t nlines, caplines;
};

/* A factor of a matrix chain. Transposes and inverses around a factor are
 * folded into the operation that uses it (A^-1 B is a solve with A). */
struct leaf {
	const struct expr *node;    /* the factor as it stands in the product */
	const struct expr *operand; /* inside the transpose / inverse; v of diag(v) */
	bool trans, inv;
	bool diag;	/* diag(v) of a vector v: a scaling, never formed */
	bool comm;	/* the commutation matrix K(m, n): a transpose, never formed */
	int rows, cols; /* of the factor */
};

struct chain {
	struct leaf *f;
	int n;
	int *split; /* n x n: where [i..j] splits, for the cheapest order */
	bool dropped_identity;
};

static inline bool emit_is_one(struct em *em, int d) { return d >= 0 && dim_is_one(em->mc, d); }

static inline bool emit_unknown_shape(const struct expr *e) { return e->rows < 0 && e->cols < 0; }

static inline int emit_rows_of(const struct expr *e, int hr) { return e->rows >= 0 ? e->rows : hr; }

static inline int emit_cols_of(const struct expr *e, int hc) { return e->cols >= 0 ? e->cols : hc; }

static inline bool emit_is_scalar(struct em *em, const struct expr *e)
{
	return emit_is_one(em, e->rows) && emit_is_one(em, e->cols);
}

/* Doubles an open-addressing table whose entries start with a pointer (NULL:
 * free slot) and hold their hash at hash_off; returns the new table. */
void *emit_table_grow(void *old, size_t *cap, size_t first, size_t esz, size_t hash_off);
/* What the emitter knows of node e, made on first sight. */
struct ninfo *emit_info(struct em *em, const struct expr *e);
/* A printf'd string (owned). */
char *emit_xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The code for the size d, read off an argument's shape (X.shape[1], X_cols),
 * a product of such sizes, or a fixed number; NULL when no argument has it. */
char *emit_dim_code(struct em *em, int d, int depth);
/* emit_dim_code, or an error naming e, which needs the size (owned). */
char *emit_dim_need(struct em *em, int d, const struct expr *e);
/* The factor inside a transpose / inverse, and which of them surround it. */
const struct expr *emit_chain_operand(const struct expr *k, bool *trans, bool *inv);
/* Splits a product into its scalar factors (returned in scalars, owned) and
 * its matrix chain, and orders the chain by the textbook dynamic programme. */
void emit_chain_plan(struct em *em, const struct expr *e, int hr, int hc, struct chain *ch,
		     const struct expr ***scalars, int *nscalars);
void emit_chain_free(struct chain *ch);
/* Whether e is diag(v) of a vector v (a factor that scales rows or columns). */
bool emit_is_diag_of_vector(struct em *em, const struct expr *e);
/* Whether t is s Aᵀ diag(w) A, s Aᵀ A (*trans) or s A diag(w) Aᵀ, s A Aᵀ, s a
 * product of scalars: sets a and w (NULL without a diagonal). */
bool emit_sandwich_term(struct em *em, const struct expr *t, const struct expr **a, bool *trans,
			const struct expr **w);
/* Whether the terms i < j of the sum e are sandwiches of the same A. */
bool emit_same_sandwich(struct em *em, const struct expr *e, int i, int j);
/* Whether t is I or s I, s a product of scalars. */
bool emit_identity_term(struct em *em, const struct expr *t);
/* The argument that is the symbol sym. */
struct earg *emit_arg_of(struct em *em, const struct expr *sym);
/* The declaration of an argument, as matcalc would read it back, into b. */
void emit_decl_str(struct em *em, const struct expr *sym, struct sbuf *b);
/* The temporary holding rhs, or -1 after recording that it will be the next
 * one (takes rhs). */
int emit_line_reuse(struct em *em, char *rhs);
/* The shortest decimal that reads back as the same double (in C when c). */
void emit_num_text(double v, char *buf, size_t n, bool c);
/* Fails (unless failed before): e cannot be emitted. Returns false. */
bool emit_unsupported(struct em *em, const struct expr *e);
/* The statement and its outputs as comment lines (prefix "# " or " * ") into b. */
void emit_describe(struct em *em, struct expr *call, const struct eout *out, int nout,
		   const char *prefix, struct sbuf *b);
/* The widest argument name. */
int emit_name_width(struct em *em);
/* The whole generated module / file for the statement into b; false on error. */
bool emit_numpy_code(struct em *em, struct expr *call, const struct eout *out, int nout,
		     struct sbuf *b);
bool emit_c_code(struct em *em, struct expr *call, const struct eout *out, int nout,
		 struct sbuf *b);

#endif
