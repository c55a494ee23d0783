/* expr.h - hash-consed expression nodes carrying their shape. */
#ifndef EXPR_H
#define EXPR_H

#include "mc.h"

/* Every operator of the language. Functions share the OP_CALL-style layout:
 * kids[] are the arguments. */
enum expr_op {
	OP_SYM,	   /* a declared or implied symbol; decl says which */
	OP_NUM,	   /* a real number (1x1) */
	OP_IDENT,  /* I: identity of the size that fits (rows == cols) */
	OP_ZERO,   /* 0 of the size that fits */
	OP_ONES,   /* ones(r, c): r, c in rows/cols */
	OP_MATRIX, /* a numeric literal [1 2; 3 4]: vals[], rows x cols */
	OP_COMM,   /* K(m, n): the commutation matrix, K vec(A) = vec(A^T) for A m x n;
		    * m, n are dimension ids in vrows, vcols; rows = cols = m*n */
	OP_SIZE,   /* a size as a number: the dimension vrows (n of ones(n, 1)), 1x1 */
	OP_PVAR,   /* a pattern variable (rule files only) */
	OP_DIFF,   /* dX: the differential of the symbol kids[0] */
	OP_ADD,	   /* n-ary sum */
	OP_MUL,	   /* n-ary product: scalar factors first, then the matrix chain */
	OP_HAD,	   /* n-ary Hadamard product */
	OP_EDIV,   /* elementwise division a ./ b */
	OP_KRON,   /* Kronecker product (binary) */
	OP_T,	   /* transpose */
	OP_INV,	   /* inverse */
	OP_POW,	   /* kids[0] ^ kids[1]: integer power of a square matrix, or scalar power */
	OP_NORM2,  /* ||e||_2 of a vector */
	OP_NORMF,  /* ||e||_F of a matrix */
	/* functions */
	OP_TR,
	OP_DET,
	OP_LOGDET,
	OP_DIAG,
	OP_SUM,
	OP_VEC,
	OP_EXP,
	OP_LOG,
	OP_SIN,
	OP_COS,
	OP_TAN,
	OP_TANH,
	OP_SQRT,
	OP_SIGMOID,
	OP_SOFTPLUS,
	OP_ABS,
	OP_SIGN,
	OP_STEP, /* the unit step (Heaviside): 1 where x > 0, else 0 */
	OP_RELU,
	OP_SOFTMAX,   /* softmax(x) = exp(x) / sum(exp(x)), x a vector */
	OP_LOGSUMEXP, /* logsumexp(x) = log(sum(exp(x))), x a vector */
	/* operators on functions */
	OP_GRAD, /* grad(f, X) */
	OP_HESS, /* hess(f, X) */
	OP_JAC,	 /* jacobian(F, x) */
	OP_D,	 /* d(e): the differential operator, before it is worked out */
	OP_EQ,	 /* e1 = e2, inside check/solve */
	OP_COUNT
};
_Static_assert(OP_COUNT <= 64, "struct expr's ops mask has a bit per operator");

enum expr_flag {
	EF_SYMMETRIC = 1u << 0, /* known symmetric */
	EF_SPD = 1u << 1,	/* symmetric positive definite */
	EF_HAS_DIFF = 1u << 2,	/* contains a dX */
	EF_HAS_PVAR = 1u << 3,	/* contains a pattern variable */
	EF_HAS_OP = 1u << 4,	/* contains grad/hess/jacobian/d */
};

enum decl_kind { KIND_SCALAR, KIND_VECTOR, KIND_MATRIX };

/* A declaration: what a name means. Redeclaring makes a new decl, so the new
 * symbol is a different node from the old one. */
struct decl {
	const char *name; /* interned, canonical (Unicode Greek) */
	enum decl_kind kind;
	int rows, cols;
	bool symmetric, spd;
	bool implicit; /* made from the name's initial, not a let */
	bool styled;   /* implicit, its kind from LaTeX typography (bold, or italic beside bold) */
	int generation;
};

struct expr {
	enum expr_op op;
	unsigned flags;
	int nkids;
	int rows, cols; /* dimension ids, or DIM_ANY */
	uint32_t hash;
	uint32_t id;		 /* creation order, for deterministic tie-breaks */
	uint32_t leaves;	 /* expr_leaves, counted once when interned (saturates) */
	uint64_t ops;		 /* bit 1 << op of every operator in e: a rule's prefilter */
	double num;		 /* OP_NUM */
	const char *name;	 /* OP_SYM, OP_PVAR: interned */
	const struct decl *decl; /* OP_SYM */
	const double *vals;	 /* OP_MATRIX: column-major */
	long vrows, vcols;	 /* OP_MATRIX */
	struct expr *next;	 /* hash chain */
	struct expr *kids[];
};

/* Operator facts, mechanism only: names, arity, printing. */
struct op_info {
	const char *name; /* the function name users type, or NULL */
	int arity;	  /* -1: n-ary */
	bool elementwise; /* scalar function applied entrywise */
};
const struct op_info *expr_op_info(enum expr_op op);
/* The op of a function name (tr, trace, Tr, det, ...), or -1. */
int expr_op_by_name(const char *name);

/* A statement of len bytes is about to be resolved: from EXPR_LONG_TEXT
 * bytes on, room for its nodes at once (node memory in huge pages, a node
 * table, names and sizes that will not grow while it is read). Only speed
 * depends on it. */
#define EXPR_LONG_TEXT (64 * 1024)
void expr_expect_text(struct mc *mc, size_t len);

/* Construction. All return a node owned by the session, or NULL with an error
 * set in mc (a shape mismatch, say). When mc->... `unify` is true the shapes are
 * unified (parsing); otherwise they must already agree (rewriting). */
struct expr *expr_sym(struct mc *mc, const struct decl *d);
struct expr *expr_num(struct mc *mc, double v);
struct expr *expr_ident(struct mc *mc, int dim);	   /* DIM_ANY: size that fits */
struct expr *expr_zero(struct mc *mc, int rows, int cols); /* DIM_ANY allowed */
struct expr *expr_ones(struct mc *mc, int rows, int cols);
struct expr *expr_matrix(struct mc *mc, long r, long c, const double *vals); /* copies */
struct expr *expr_pvar(struct mc *mc, const char *name);
struct expr *expr_diff(struct mc *mc, struct expr *sym);
/* K(m, n), m and n dimension ids: vec(A^T) = K(m, n) vec(A) for A m x n
 * (Magnus & Neudecker's K_mn). */
struct expr *expr_comm(struct mc *mc, int m, int n);
/* The size d as a scalar: its number when it has one, else the node OP_SIZE. */
struct expr *expr_size(struct mc *mc, int d);
/* The general constructor: op applied to kids, normalised (flattened, numbers
 * folded) and shape-checked. */
struct expr *expr_make(struct mc *mc, enum expr_op op, int n, struct expr **kids, bool unify);
/* Forgets the sums and products expr_make keeps (between statements, as the
 * rewriting memo is; mc_free frees the table). */
void expr_make_forget(struct mc *mc);
struct expr *expr_make1(struct mc *mc, enum expr_op op, struct expr *a, bool unify);
struct expr *expr_make2(struct mc *mc, enum expr_op op, struct expr *a, struct expr *b, bool unify);

/* A long sum built operand by operand, as expr_make2(OP_ADD, sum, b, true) would
 * build it, in time linear in its length (expr.c says when it can). The caller
 * owns the builder (expr_sum_free). expr_sum_load starts from a node (a sum or
 * a term; NULL or 0 leave the builder inactive); expr_sum_add adds b and
 * returns true, or returns false with the sum unchanged (it may have unified
 * sizes, as make_add does first): the caller then takes that step with
 * expr_make2 on expr_sum_get's node and loads the result. expr_sum_get gives
 * the sum so far (NULL when inactive). */
struct expr_sum;
struct expr_sum *expr_sum_new(struct mc *mc);
void expr_sum_load(struct expr_sum *s, struct expr *r);
bool expr_sum_add(struct expr_sum *s, struct expr *b);
struct expr *expr_sum_get(struct expr_sum *s);
void expr_sum_free(struct expr_sum *s);

/* The same sum (or Hadamard product) with its operands in canonical order:
 * for a sum, larger terms first and numbers last, as a textbook prints it.
 * Construction keeps the order the operands were given in. */
struct expr *expr_sorted(struct mc *mc, struct expr *e);

/* Shape queries. */
bool expr_is_scalar(struct mc *mc, const struct expr *e);
bool expr_is_vector(struct mc *mc, const struct expr *e); /* n x 1 */
bool expr_is_square(struct mc *mc, const struct expr *e);
bool expr_is_num(const struct expr *e, double v);
bool expr_contains(const struct expr *e, const struct expr *sub);
bool expr_has_op(const struct expr *e, enum expr_op op); /* some node of e has op */
/* Describes a shape as "n×m" into buf. */
void expr_shape_str(struct mc *mc, const struct expr *e, char *buf, size_t n);

/* A total order on nodes that depends only on structure (never on addresses). */
int expr_cmp(const struct expr *a, const struct expr *b);
/* Number of leaves (symbols, numbers, I, 0): the size of a printed result. */
long expr_leaves(const struct expr *e);

/* The ends l, r of a product Aᵀ ... A (trans true) or A ... Aᵀ: sets a to A.
 * The evaluator and the code generators compute such a product as one. */
bool expr_sandwich_ends(const struct expr *l, const struct expr *r, const struct expr **a,
			bool *trans);

#endif
