/* expr.c - hash-consed nodes: construction, normalisation (flattening, number
 * folding, canonical order of commutative operands) and shape checking. */
#include "expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct op_info op_table[OP_COUNT] = {
    [OP_SYM] = {NULL, 0, false},
    [OP_NUM] = {NULL, 0, false},
    [OP_IDENT] = {NULL, 0, false},
    [OP_ZERO] = {NULL, 0, false},
    [OP_ONES] = {"ones", 0, false},
    [OP_MATRIX] = {NULL, 0, false},
    [OP_COMM] = {NULL, 0, false},
    [OP_SIZE] = {NULL, 0, false},
    [OP_PVAR] = {NULL, 0, false},
    [OP_DIFF] = {NULL, 1, false},
    [OP_ADD] = {NULL, -1, false},
    [OP_MUL] = {NULL, -1, false},
    [OP_HAD] = {NULL, -1, false},
    [OP_EDIV] = {NULL, 2, false},
    [OP_KRON] = {"kron", 2, false},
    [OP_T] = {NULL, 1, false},
    [OP_INV] = {"inv", 1, false},
    [OP_POW] = {NULL, 2, false},
    [OP_NORM2] = {NULL, 1, false},
    [OP_NORMF] = {NULL, 1, false},
    [OP_TR] = {"tr", 1, false},
    [OP_DET] = {"det", 1, false},
    [OP_LOGDET] = {"logdet", 1, false},
    [OP_DIAG] = {"diag", 1, false},
    [OP_SUM] = {"sum", 1, false},
    [OP_VEC] = {"vec", 1, false},
    [OP_EXP] = {"exp", 1, true},
    [OP_LOG] = {"log", 1, true},
    [OP_SIN] = {"sin", 1, true},
    [OP_COS] = {"cos", 1, true},
    [OP_TAN] = {"tan", 1, true},
    [OP_TANH] = {"tanh", 1, true},
    [OP_SQRT] = {"sqrt", 1, true},
    [OP_SIGMOID] = {"sigmoid", 1, true},
    [OP_SOFTPLUS] = {"softplus", 1, true},
    [OP_ABS] = {"abs", 1, true},
    [OP_SIGN] = {"sign", 1, true},
    [OP_STEP] = {"step", 1, true},
    [OP_RELU] = {"relu", 1, true},
    [OP_SOFTMAX] = {"softmax", 1, false},
    [OP_LOGSUMEXP] = {"logsumexp", 1, false},
    [OP_GRAD] = {"grad", 2, false},
    [OP_HESS] = {"hess", 2, false},
    [OP_JAC] = {"jacobian", 2, false},
    [OP_D] = {"d", 1, false},
    [OP_EQ] = {NULL, 2, false},
};

const struct op_info *expr_op_info(enum expr_op op) { return &op_table[op]; }

int expr_op_by_name(const char *name)
{
	static const struct {
		const char *alias;
		enum expr_op op;
	} aliases[] = {{"trace", OP_TR}, {"Tr", OP_TR}, {"ln", OP_LOG}};
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (strcmp(name, aliases[i].alias) == 0)
			return aliases[i].op;
	if (!(name[0] >= 'a' && name[0] <= 'z'))
		return -1; /* every name of the table is lowercase */
	for (int op = 0; op < OP_COUNT; op++)
		if (op_table[op].name && op_table[op].name[0] == name[0] && op != OP_ONES &&
		    strcmp(op_table[op].name, name) == 0)
			return op;
	return -1;
}

/* ---- hashing ---- */

/* The hash of node e with the kids given apart (a prototype has no room for
 * them). Each field is multiplied by its own odd constant and the products
 * are combined (independent multiplies, not a chain: every construction
 * hashes), then the kids polynomially (their order matters), then one
 * finaliser spreads the bits: the table takes the low ones. */
static uint32_t node_hash(const struct expr *e, struct expr *const *kids)
{
	uint64_t bits;
	memcpy(&bits, &e->num, sizeof bits);
	uint64_t h = ((uint64_t)e->op + 1) * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)(uintptr_t)e->name * 0xc2b2ae3d27d4eb4fULL;
	h ^= (uint64_t)(uintptr_t)e->decl * 0x165667b19e3779f9ULL;
	h ^= bits * 0x27d4eb2f165667c5ULL;
	h ^= ((uint64_t)(uint32_t)e->rows << 32 | (uint32_t)e->cols) * 0x94d049bb133111ebULL;
	for (int i = 0; i < e->nkids; i++)
		h = (h ^ kids[i]->hash) * 0x9e3779b97f4a7c15ULL + (uint64_t)i;
	if (e->op == OP_COMM || e->op == OP_SIZE)
		h = (h ^ ((uint64_t)e->vrows << 32 | (uint32_t)e->vcols)) * 0xff51afd7ed558ccdULL;
	if (e->op == OP_MATRIX)
		for (long i = 0; i < e->vrows * e->vcols; i++) {
			memcpy(&bits, &e->vals[i], sizeof bits);
			h = (h ^ bits) * 0xff51afd7ed558ccdULL;
		}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (uint32_t)h ^ (uint32_t)(h >> 32);
}

/* Whether node a equals the node b would make with bkids. */
static bool node_eq(const struct expr *a, const struct expr *b, struct expr *const *bkids)
{
	if (a->op != b->op || a->nkids != b->nkids || a->name != b->name || a->decl != b->decl ||
	    memcmp(&a->num, &b->num, sizeof a->num) != 0)
		return false;
	for (int i = 0; i < a->nkids; i++)
		if (a->kids[i] != bkids[i])
			return false;
	if (a->op == OP_IDENT || a->op == OP_ZERO || a->op == OP_ONES)
		if (a->rows != b->rows || a->cols != b->cols)
			return false;
	if (a->op == OP_COMM || a->op == OP_SIZE)
		return a->vrows == b->vrows && a->vcols == b->vcols;
	if (a->op == OP_MATRIX)
		return a->vrows == b->vrows && a->vcols == b->vcols &&
		       memcmp(a->vals, b->vals, (size_t)(a->vrows * a->vcols) * sizeof(double)) ==
			   0;
	return true;
}

static void table_resize(struct mc *mc, size_t ns, bool room)
{
	struct expr **old = mc->table;
	bool old_in_arena;
	struct expr **nt = mc_array_fresh(mc, ns * sizeof *nt, MC_ARR_TABLE, room, &old_in_arena);
	for (size_t i = 0; i < mc->tabsize; i++) {
		struct expr *e = old[i];
		while (e) {
			struct expr *n = e->next;
			size_t j = e->hash & (ns - 1);
			e->next = nt[j];
			nt[j] = e;
			e = n;
		}
	}
	if (!old_in_arena)
		free(old);
	mc->table = nt;
	mc->tabsize = ns;
}

void expr_expect_text(struct mc *mc, size_t len)
{
	if (len < EXPR_LONG_TEXT)
		return;
	/* 100 kB of the reading benchmark makes about 9,500 nodes in 1.1 MB, 5,600
	 * names and 3,800 sizes: a table slot, a name and a size per 8, 16 and 24
	 * bytes of text covers them. The table, the names, their hash and the
	 * sizes go in the same room as the nodes (0.75 MB there): 20 bytes per
	 * byte read in all. */
	mc_arena_reserve(mc, 20 * len);
	size_t want = mc->nnodes + len / 8;
	if (mc->tabsize < want) {
		size_t ns = mc->tabsize;
		while (ns < want)
			ns *= 2;
		table_resize(mc, ns, true);
	}
	mc_reserve(mc, len / 16, len / 24);
}

/* Interns the node described by proto (with n kids): returns the existing
 * equal node or a new copy. proto's shape and flags must be set. */
static struct expr *intern(struct mc *mc, struct expr *proto, int n, struct expr **kids)
{
	proto->nkids = n;
	/* hashed and compared as proto plus kids: most lookups find the node, and
	 * a temporary copy to hash was a malloc and free per construction */
	proto->hash = node_hash(proto, kids);
	size_t slot = proto->hash & (mc->tabsize - 1);
	for (struct expr *e = mc->table[slot]; e; e = e->next)
		if (e->hash == proto->hash && node_eq(e, proto, kids))
			return e;
	size_t sz = sizeof(struct expr) + (size_t)n * sizeof(struct expr *);
	/* every byte is written below: the prototype, then the kids */
	struct expr *e = mc_alloc_uninit(mc, sz);
	memcpy(e, proto, sizeof(struct expr));
	/* one pass over the kids: the pointers, the flags and operators that
	 * rise from them, and the leaves (expr_leaves) */
	unsigned flags = 0;
	uint64_t ops = (uint64_t)1 << e->op, leaves = n ? 0 : 1;
	for (int i = 0; i < n; i++) {
		struct expr *k = kids[i];
		e->kids[i] = k;
		flags |= k->flags;
		ops |= k->ops;
		leaves += k->leaves;
	}
	e->flags |= flags & (EF_HAS_DIFF | EF_HAS_PVAR | EF_HAS_OP);
	e->ops = ops;
	if (e->op == OP_POW && kids[1]->op == OP_NUM)
		leaves--; /* an exponent is not a leaf of the printed form */
	e->leaves = leaves < UINT32_MAX ? (uint32_t)leaves : UINT32_MAX;
	e->id = mc->next_id++;
	e->next = mc->table[slot];
	mc->table[slot] = e;
	/* quadrupled, not doubled: each growth visits every node (a cache miss
	 * each), and a long text's growths were most of its misses */
	if (++mc->nnodes > mc->tabsize)
		table_resize(mc, mc->tabsize * 4, false);
	/* a node too wide, or one built past a limit, stops the statement: the
	 * node is still returned (leaf constructors never fail), expr_make fails next */
	limit_check_terms(&mc->lim, n);
	limit_poll(&mc->lim);
	return e;
}

static struct expr *leaf(struct mc *mc, enum expr_op op, int rows, int cols)
{
	struct expr p = {0};
	p.op = op;
	p.rows = rows;
	p.cols = cols;
	return intern(mc, &p, 0, NULL);
}

/* ---- leaves ---- */

struct expr *expr_sym(struct mc *mc, const struct decl *d)
{
	struct expr p = {0};
	p.op = OP_SYM;
	p.name = d->name;
	p.decl = d;
	p.rows = d->rows;
	p.cols = d->cols;
	if (d->symmetric || d->spd)
		p.flags |= EF_SYMMETRIC;
	if (d->spd)
		p.flags |= EF_SPD;
	return intern(mc, &p, 0, NULL);
}

struct expr *expr_num(struct mc *mc, double v)
{
	if (v == 0)
		return expr_zero(mc, DIM_ANY, DIM_ANY);
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	struct mc_num_cache *c = &mc->num_cache[(bits * 0x9e3779b97f4a7c15ULL) >> 59];
	if (c->e && c->bits == bits)
		return c->e;
	struct expr p = {0};
	p.op = OP_NUM;
	p.num = v;
	p.rows = p.cols = mc->dim_one;
	p.flags = EF_SYMMETRIC;
	struct expr *e = intern(mc, &p, 0, NULL);
	c->bits = bits;
	c->e = e;
	return e;
}

struct expr *expr_ident(struct mc *mc, int dim)
{
	struct expr *e = leaf(mc, OP_IDENT, dim, dim);
	e->flags |= EF_SYMMETRIC | EF_SPD;
	return e;
}

struct expr *expr_zero(struct mc *mc, int rows, int cols) { return leaf(mc, OP_ZERO, rows, cols); }

struct expr *expr_ones(struct mc *mc, int rows, int cols)
{
	if (dim_is_one(mc, rows) && dim_is_one(mc, cols))
		return expr_num(mc, 1);
	return leaf(mc, OP_ONES, rows, cols);
}

struct expr *expr_comm(struct mc *mc, int m, int n)
{
	/* K(1, n) = K(m, 1) = I */
	if (dim_is_one(mc, m) || dim_is_one(mc, n))
		return expr_ident(mc, dim_product(mc, m, n));
	struct expr p = {0};
	p.op = OP_COMM;
	p.vrows = dim_find(mc, m);
	p.vcols = dim_find(mc, n);
	p.rows = p.cols = dim_product(mc, m, n);
	if (p.vrows == p.vcols)
		p.flags = EF_SYMMETRIC; /* K(n, n) is its own transpose */
	return intern(mc, &p, 0, NULL);
}

struct expr *expr_size(struct mc *mc, int d)
{
	long v = dim_value(mc, d);
	if (v > 0)
		return expr_num(mc, (double)v);
	struct expr p = {0};
	p.op = OP_SIZE;
	p.vrows = dim_find(mc, d);
	p.rows = p.cols = mc->dim_one;
	p.flags = EF_SYMMETRIC;
	return intern(mc, &p, 0, NULL);
}

struct expr *expr_matrix(struct mc *mc, long r, long c, const double *vals)
{
	if (r == 1 && c == 1)
		return expr_num(mc, vals[0]);
	struct expr p = {0};
	p.op = OP_MATRIX;
	p.vrows = r;
	p.vcols = c;
	double *v = mc_alloc(mc, (size_t)(r * c) * sizeof(double));
	memcpy(v, vals, (size_t)(r * c) * sizeof(double));
	p.vals = v;
	p.rows = dim_const(mc, r);
	p.cols = dim_const(mc, c);
	return intern(mc, &p, 0, NULL);
}

struct expr *expr_pvar(struct mc *mc, const char *name)
{
	struct expr p = {0};
	p.op = OP_PVAR;
	p.name = mc_intern(mc, name);
	p.rows = p.cols = DIM_ANY;
	p.flags = EF_HAS_PVAR;
	return intern(mc, &p, 0, NULL);
}

struct expr *expr_diff(struct mc *mc, struct expr *sym)
{
	struct expr p = {0};
	p.op = OP_DIFF;
	p.rows = sym->rows;
	p.cols = sym->cols;
	p.flags = EF_HAS_DIFF | (sym->flags & EF_SYMMETRIC);
	return intern(mc, &p, 1, &sym);
}

/* ---- shape helpers ---- */

bool expr_is_scalar(struct mc *mc, const struct expr *e)
{
	return dim_is_one(mc, e->rows) && dim_is_one(mc, e->cols);
}

bool expr_is_vector(struct mc *mc, const struct expr *e)
{
	return dim_is_one(mc, e->cols) && !dim_is_one(mc, e->rows);
}

bool expr_is_square(struct mc *mc, const struct expr *e)
{
	return e->rows >= 0 && e->cols >= 0 && dim_find(mc, e->rows) == dim_find(mc, e->cols);
}

bool expr_is_num(const struct expr *e, double v)
{
	if (v == 0)
		return e->op == OP_ZERO;
	return e->op == OP_NUM && e->num == v;
}

bool expr_contains(const struct expr *e, const struct expr *sub)
{
	if (e == sub)
		return true;
	for (int i = 0; i < e->nkids; i++)
		if (expr_contains(e->kids[i], sub))
			return true;
	return false;
}

bool expr_has_op(const struct expr *e, enum expr_op op)
{
	if (e->op == op)
		return true;
	for (int i = 0; i < e->nkids; i++)
		if (expr_has_op(e->kids[i], op))
			return true;
	return false;
}

void expr_shape_str(struct mc *mc, const struct expr *e, char *buf, size_t n)
{
	char r[64], c[64];
	dim_print(mc, e->rows, r, sizeof r);
	dim_print(mc, e->cols, c, sizeof c);
	/* built whole, then cut to n (snprintf straight into buf draws a
	 * truncation warning once this is inlined) */
	char whole[sizeof r + sizeof c + 4];
	size_t len = (size_t)snprintf(whole, sizeof whole, "%s×%s", r, c);
	if (n == 0)
		return;
	if (len >= n)
		len = n - 1;
	memcpy(buf, whole, len);
	buf[len] = '\0';
}

/* "X (n×m)": an operand and its shape, for error messages. */
static void describe(struct mc *mc, const struct expr *e, char *buf, size_t n)
{
	char sh[128];
	expr_shape_str(mc, e, sh, sizeof sh);
	char *s = mc->print_plain ? mc->print_plain(mc, e) : NULL;
	if (!s)
		snprintf(buf, n, "(%s)", sh);
	else if (strlen(s) > 40)
		snprintf(buf, n, "%.37s... (%s)", s, sh);
	else
		snprintf(buf, n, "%s (%s)", s, sh);
	free(s);
}

/* Requires a == b (unify: make it so). */
static bool same_dim(struct mc *mc, int a, int b, bool unify)
{
	return unify ? dim_unify(mc, a, b) : dim_same(mc, a, b);
}

/* ---- ordering ---- */

/* Counted once as the node is interned, from its operands' (a shared operand
 * counts each time, as printed); saturates at UINT32_MAX. */
long expr_leaves(const struct expr *e)
{
	return (long)e->leaves;
}

int expr_cmp(const struct expr *a, const struct expr *b)
{
	if (a == b)
		return 0;
	if (a->op != b->op)
		return a->op < b->op ? -1 : 1;
	switch (a->op) {
	case OP_SYM:
	case OP_PVAR: {
		int c = strcmp(a->name, b->name);
		if (c)
			return c;
		if (a->decl && b->decl && a->decl->generation != b->decl->generation)
			return a->decl->generation < b->decl->generation ? -1 : 1;
		break;
	}
	case OP_NUM:
		if (a->num != b->num)
			return a->num < b->num ? -1 : 1;
		break;
	case OP_COMM:
	case OP_SIZE:
	case OP_MATRIX:
		if (a->vrows != b->vrows)
			return a->vrows < b->vrows ? -1 : 1;
		if (a->vcols != b->vcols)
			return a->vcols < b->vcols ? -1 : 1;
		for (long i = 0; a->op == OP_MATRIX && i < a->vrows * a->vcols; i++)
			if (a->vals[i] != b->vals[i])
				return a->vals[i] < b->vals[i] ? -1 : 1;
		break;
	default:
		break;
	}
	int n = a->nkids < b->nkids ? a->nkids : b->nkids;
	for (int i = 0; i < n; i++) {
		int c = expr_cmp(a->kids[i], b->kids[i]);
		if (c)
			return c;
	}
	if (a->nkids != b->nkids)
		return a->nkids < b->nkids ? -1 : 1;
	if (a->rows != b->rows)
		return a->rows < b->rows ? -1 : 1;
	if (a->cols != b->cols)
		return a->cols < b->cols ? -1 : 1;
	return a->id < b->id ? -1 : (a->id > b->id);
}

/* ---- growable node lists ---- */

/* The first few entries live in the list itself: most lists of a constructor
 * are short, and a malloc for each was a tenth of the time of reading. A list
 * starts with list_init, is never copied, and is freed with list_free. */
struct list {
	struct expr **v;
	int n, cap;
	struct expr *small[8];
};

/* Makes l an empty list ready for its first eight entries (no call to
 * list_grow before the ninth; the entries' room is not cleared). */
static inline void list_init(struct list *l)
{
	l->v = l->small;
	l->n = 0;
	l->cap = (int)(sizeof l->small / sizeof *l->small);
}

static void list_grow(struct list *l)
{
	if (l->v == l->small) {
		l->v = mc_xmalloc(2 * (size_t)l->cap * sizeof *l->v);
		memcpy(l->v, l->small, (size_t)l->n * sizeof *l->v);
		l->cap *= 2;
	} else {
		l->cap *= 2;
		l->v = mc_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
	}
}

static inline void list_push(struct list *l, struct expr *e)
{
	if (l->n == l->cap)
		list_grow(l);
	l->v[l->n++] = e;
}

static void list_free(struct list *l)
{
	if (l->v != l->small)
		free(l->v);
}

static int cmp_qsort(const void *a, const void *b)
{
	return expr_cmp(*(struct expr *const *)a, *(struct expr *const *)b);
}

/* Split a term into numeric coefficient and the rest: 2 X -> (2, X). */
static struct expr *split_coef(struct mc *mc, struct expr *t, double *coef)
{
	if (t->op == OP_NUM) {
		*coef = t->num;
		return expr_num(mc, 1);
	}
	if (t->op == OP_MUL && t->kids[0]->op == OP_NUM) {
		*coef = t->kids[0]->num;
		if (t->nkids == 2)
			return t->kids[1];
		struct expr p = *t;
		p.next = NULL;
		/* the rest keeps its shape and flags: it is the same product without its
		 * coefficient */
		return intern(mc, &p, t->nkids - 1, (struct expr **)t->kids + 1);
	}
	*coef = 1;
	return t;
}

static struct expr *scale(struct mc *mc, double c, struct expr *t)
{
	if (c == 1)
		return t;
	struct expr *k[2] = {expr_num(mc, c), t};
	return expr_make(mc, OP_MUL, 2, k, false);
}

/* Textbook order of a sum's terms: positive terms first, then numbers, then
 * negative terms; larger terms before smaller ones. */
static bool negative_term(const struct expr *t)
{
	return (t->op == OP_MUL && t->kids[0]->op == OP_NUM && t->kids[0]->num < 0) ||
	       (t->op == OP_NUM && t->num < 0);
}

static bool number_term(const struct expr *t)
{
	const struct expr *r = t->op == OP_MUL ? t->kids[t->nkids - 1] : t;
	return t->op == OP_NUM || r->op == OP_ONES;
}

static long term_size(const struct expr *t)
{
	long n = expr_leaves(t);
	return t->op == OP_MUL && t->kids[0]->op == OP_NUM ? n - 1 : n;
}

static int cmp_terms(const void *pa, const void *pb)
{
	const struct expr *a = *(struct expr *const *)pa, *b = *(struct expr *const *)pb;
	bool ga = negative_term(a), gb = negative_term(b);
	if (ga != gb)
		return ga ? 1 : -1;
	bool na = number_term(a), nb = number_term(b);
	if (na != nb)
		return na ? 1 : -1;
	long la = term_size(a), lb = term_size(b);
	if (la != lb)
		return la > lb ? -1 : 1;
	/* a multiple of I after the other terms: X^T X + λ I */
	bool ia = a->op == OP_IDENT || (a->op == OP_MUL && a->kids[a->nkids - 1]->op == OP_IDENT);
	bool ib = b->op == OP_IDENT || (b->op == OP_MUL && b->kids[b->nkids - 1]->op == OP_IDENT);
	if (ia != ib)
		return ia ? 1 : -1;
	return expr_cmp(a, b);
}

static bool unknown_shape(const struct expr *e) { return e->rows < 0 && e->cols < 0; }

/* The term of a sum with coefficient c on base b (split_coef undone). */
static struct expr *sum_term(struct mc *mc, double c, struct expr *b)
{
	return expr_is_num(b, 1) ? expr_num(mc, c) : scale(mc, c, b);
}

static struct expr *make_add(struct mc *mc, int n, struct expr **kids, bool unify)
{
	struct list terms;
	list_init(&terms);
	int rows = DIM_ANY, cols = DIM_ANY;
	bool nonscalar = false;
	struct expr *first = NULL;
	/* flatten and find the shape: the first term that is not a broadcast scalar */
	struct list flat;
	list_init(&flat);
	for (int i = 0; i < n; i++) {
		if (kids[i]->op == OP_ADD)
			for (int j = 0; j < kids[i]->nkids; j++)
				list_push(&flat, kids[i]->kids[j]);
		else
			list_push(&flat, kids[i]);
	}
	for (int i = 0; i < flat.n; i++) {
		struct expr *t = flat.v[i];
		if (t->op == OP_ZERO && t->rows < 0)
			continue;
		if (expr_is_scalar(mc, t))
			continue;
		if (!nonscalar && t->rows < 0 && t->cols < 0)
			continue; /* I or a pattern: fits anything */
		if (!nonscalar) {
			rows = t->rows;
			cols = t->cols;
			nonscalar = true;
			first = t;
			continue;
		}
		if (!same_dim(mc, rows, t->rows, unify) || !same_dim(mc, cols, t->cols, unify)) {
			char a[256], b[256];
			describe(mc, first, a, sizeof a);
			describe(mc, t, b, sizeof b);
			mc_fail(mc, MC_ERR_SHAPE, "cannot add %s and %s", a, b);
			list_free(&flat);
			return NULL;
		}
		if (rows < 0)
			rows = t->rows;
		if (cols < 0)
			cols = t->cols;
	}
	bool any_pattern = false;
	for (int i = 0; i < flat.n; i++)
		if (flat.v[i]->rows < 0 && flat.v[i]->op != OP_ZERO && flat.v[i]->op != OP_IDENT)
			any_pattern = true;
	if (!nonscalar && !any_pattern) {
		rows = cols = mc->dim_one;
	}
	/* I in a sum (also -I, λ I) forces it square */
	for (int i = 0; i < flat.n; i++)
		if (unknown_shape(flat.v[i]) && flat.v[i]->op != OP_ZERO &&
		    !(flat.v[i]->flags & EF_HAS_PVAR) && nonscalar &&
		    !same_dim(mc, rows, cols, unify)) {
			char b[128];
			struct expr tmp = {.rows = rows, .cols = cols};
			expr_shape_str(mc, &tmp, b, sizeof b);
			mc_fail(mc, MC_ERR_SHAPE, "cannot add I to a %s matrix: I is square", b);
			list_free(&flat);
			return NULL;
		}
	/* collect like terms: coefficient arithmetic */
	bool regroup = false;
	struct list bases;
	list_init(&bases);
	double *coefs = NULL;
	int cap = 0;
	/* a long sum finds its bases in a table (searched one by one, a sum of n
	 * terms split a term at a time, tr(A + B) -> tr(A) + tr(B), was O(n^3)) */
	int *slot = NULL;
	size_t mask = 0;
	if (flat.n > 16) {
		size_t ns = 64;
		while (ns < 2 * (size_t)flat.n)
			ns *= 2;
		slot = mc_xcalloc(ns, sizeof *slot);
		mask = ns - 1;
	}
	for (int i = 0; i < flat.n; i++) {
		struct expr *t = flat.v[i];
		if (t->op == OP_ZERO)
			continue;
		if (nonscalar && expr_is_scalar(mc, t)) {
			/* a scalar added to a matrix goes to every entry */
			struct expr *k[2] = {t, expr_ones(mc, rows, cols)};
			t = expr_make(mc, OP_MUL, 2, k, false);
			if (!t)
				goto fail;
		}
		double c;
		struct expr *b = split_coef(mc, t, &c);
		int j;
		if (slot) {
			size_t q = (size_t)b->hash & mask;
			while (slot[q] && bases.v[slot[q] - 1] != b)
				q = (q + 1) & mask;
			if (!slot[q])
				slot[q] = bases.n + 1;
			j = slot[q] - 1;
		} else {
			for (j = 0; j < bases.n; j++)
				if (bases.v[j] == b)
					break;
		}
		if (j == bases.n) {
			list_push(&bases, b);
			if (bases.n > cap) {
				cap = bases.cap;
				coefs = mc_xrealloc(coefs, (size_t)cap * sizeof *coefs);
			}
			coefs[j] = 0;
		}
		coefs[j] += c;
	}
	for (int j = 0; j < bases.n; j++) {
		if (coefs[j] == 0)
			continue;
		struct expr *t = sum_term(mc, coefs[j], bases.v[j]);
		if (!t)
			goto fail;
		if (t->op == OP_ADD) /* 0.5 (y + 4) + 0.5 (y + 4): the sum's terms join this one */
			regroup = true;
		list_push(&terms, t);
	}
	list_free(&bases);
	free(coefs);
	free(slot);
	list_free(&flat);
	struct expr *res;
	if (terms.n == 0 && nonscalar && rows >= 0 && cols >= 0) {
		/* W - W keeps its shape: W - W + 1 is ones, not 1 */
		list_free(&terms);
		return expr_zero(mc, rows, cols);
	}
	if (regroup) {
		/* collect again with the inner sum's terms in this one */
		res = make_add(mc, terms.n, terms.v, unify);
		list_free(&terms);
		return res;
	}
	if (terms.n == 0)
		res = expr_zero(mc, DIM_ANY, DIM_ANY);
	else if (terms.n == 1)
		res = terms.v[0];
	else {
		struct expr p = {0};
		p.op = OP_ADD;
		p.rows = rows;
		p.cols = cols;
		p.flags = EF_SYMMETRIC;
		for (int i = 0; i < terms.n; i++)
			if (!(terms.v[i]->flags & EF_SYMMETRIC))
				p.flags &= ~EF_SYMMETRIC;
		res = intern(mc, &p, terms.n, terms.v);
	}
	list_free(&terms);
	return res;
fail:
	list_free(&bases);
	free(coefs);
	free(slot);
	list_free(&flat);
	list_free(&terms);
	return NULL;
}

/* ---- long sums, term by term ----
 *
 * A sum read as a + b + c + ... is built one operand at a time (each + has
 * its own location for errors). Done with make_add, step k would flatten,
 * collect and intern all k terms again: quadratic in the length, and worse
 * with the linear search for like terms. expr_sum keeps what make_add would
 * hold after each step (the terms in order, each split into coefficient and
 * base, a hash of the bases) and does only what the new operand changes; it
 * takes a step only where it can show make_add would give the same terms,
 * and otherwise leaves the step to make_add (expr_sum_add returns false). The
 * conditions, each what make_add's passes need to do nothing else:
 *  - all terms scalar, or all with known sizes and not scalar whose rows
 *    (columns) are one class of sizes: the shape pass then only unifies the
 *    new operand's sizes with the first term's, which expr_sum does the same;
 *    no scalar is spread over a matrix (ones), no I, 0 or pattern;
 *  - every term is its own normal form: split_coef then sum_term gives it back
 *    (checked as a term is made), so make_add would remake the same terms;
 *  - no class of sizes took a value since (mc->dim_valued): a size becoming 1
 *    changes how a product normalises;
 *  - no term cancels to leave the sum empty and none becomes a sum (regrouping). */

struct sum_ent {
	struct expr *base, *term; /* term = sum_term(coef, base), base = split_coef(term) */
	double coef;
	bool dead;     /* its coefficient cancelled: the term left the sum */
	unsigned step; /* the last step that touched it */
};

struct expr_sum {
	struct mc *mc;
	bool active;	   /* the state below is the sum so far, as make_add would hold it */
	bool scalar;	   /* all terms scalar; else all matrices of one shape class */
	int rows, cols;	   /* the sum node's shape (the first term of the last step's operands) */
	unsigned valued;   /* mc->dim_valued when the terms were made */
	struct sum_ent *e; /* in order; dead entries are skipped */
	int n, cap, live, first; /* first: index of the first live entry */
	int *slot;		 /* open addressing on base: index into e, or -1 */
	size_t nslot;
	/* one step's changes, undone when the step is left to make_add */
	int *touched;
	double *oldcoef;
	struct expr **newterm;
	int ntouched, captouched;
	unsigned step;
};

static size_t sum_hash(const struct expr *b, size_t nslot)
{
	return (size_t)(b->hash * 2654435761u) & (nslot - 1);
}

/* The slot of base b: where it is, or the empty slot where it would go. */
static size_t sum_slot(const struct expr_sum *s, const struct expr *b)
{
	size_t q = sum_hash(b, s->nslot);
	while (s->slot[q] >= 0 && s->e[s->slot[q]].base != b)
		q = (q + 1) & (s->nslot - 1);
	return q;
}

/* Rebuilds the hash over the live entries, dropping the dead ones, with room
 * for `more` new entries. */
static void sum_rehash(struct expr_sum *s, int more)
{
	int k = 0;
	for (int i = 0; i < s->n; i++)
		if (!s->e[i].dead)
			s->e[k++] = s->e[i];
	s->n = k;
	s->first = 0;
	size_t want = 16;
	while (want < 2 * (size_t)(k + more) + 2)
		want *= 2;
	if (want != s->nslot) {
		free(s->slot);
		s->slot = mc_xmalloc(want * sizeof *s->slot);
		s->nslot = want;
	}
	memset(s->slot, 0xff, s->nslot * sizeof *s->slot);
	for (int i = 0; i < k; i++)
		s->slot[sum_slot(s, s->e[i].base)] = i;
}

struct expr_sum *expr_sum_new(struct mc *mc)
{
	struct expr_sum *s = mc_xcalloc(1, sizeof *s);
	s->mc = mc;
	return s;
}

void expr_sum_free(struct expr_sum *s)
{
	if (!s)
		return;
	free(s->e);
	free(s->slot);
	free(s->touched);
	free(s->oldcoef);
	free(s->newterm);
	free(s);
}

/* Whether t may be a term of the sum in its mode (see the conditions above). */
static bool sum_fits(struct expr_sum *s, const struct expr *t)
{
	if (t->op == OP_ZERO || t->op == OP_ADD || (t->flags & EF_HAS_PVAR))
		return false;
	if (s->scalar)
		return expr_is_scalar(s->mc, t);
	return t->rows >= 0 && t->cols >= 0 && !expr_is_scalar(s->mc, t);
}

/* Whether t is its own normal form with coefficient c on base b. */
static bool sum_normal(struct mc *mc, struct expr *t, double c, struct expr *b)
{
	double c2;
	return split_coef(mc, t, &c2) == b && c2 == c;
}

static void sum_push(struct expr_sum *s, struct expr *base, struct expr *term, double coef)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->e = mc_xrealloc(s->e, (size_t)s->cap * sizeof *s->e);
	}
	s->e[s->n++] = (struct sum_ent){base, term, coef, false, 0};
}

void expr_sum_load(struct expr_sum *s, struct expr *r)
{
	struct mc *mc = s->mc;
	s->active = false;
	s->n = s->live = s->first = 0;
	if (!r || r->op == OP_ZERO)
		return;
	int n = r->op == OP_ADD ? r->nkids : 1;
	struct expr *const *kids = r->op == OP_ADD ? r->kids : &r;
	s->scalar = expr_is_scalar(mc, kids[0]);
	sum_rehash(s, n);
	int r0 = dim_find(mc, kids[0]->rows), c0 = dim_find(mc, kids[0]->cols);
	for (int i = 0; i < n; i++) {
		struct expr *t = kids[i];
		if (!sum_fits(s, t))
			return;
		if (!s->scalar && (dim_find(mc, t->rows) != r0 || dim_find(mc, t->cols) != c0))
			return;
		double c;
		struct expr *b = split_coef(mc, t, &c);
		size_t q = sum_slot(s, b);
		if (s->slot[q] >= 0 || sum_term(mc, c, b) != t)
			return; /* two terms on one base, or a term make_add would remake */
		s->slot[q] = s->n;
		sum_push(s, b, t, c);
	}
	s->live = n;
	s->rows = r->rows;
	s->cols = r->cols;
	s->valued = mc->dim_valued;
	s->active = true;
}

static void sum_touch(struct expr_sum *s, int i)
{
	if (s->e[i].step == s->step)
		return;
	s->e[i].step = s->step;
	if (s->ntouched == s->captouched) {
		s->captouched = s->captouched ? 2 * s->captouched : 16;
		s->touched = mc_xrealloc(s->touched, (size_t)s->captouched * sizeof *s->touched);
		s->oldcoef = mc_xrealloc(s->oldcoef, (size_t)s->captouched * sizeof *s->oldcoef);
		s->newterm = mc_xrealloc(s->newterm, (size_t)s->captouched * sizeof *s->newterm);
	}
	s->touched[s->ntouched] = i;
	s->oldcoef[s->ntouched] = s->e[i].coef;
	s->ntouched++;
}

bool expr_sum_add(struct expr_sum *s, struct expr *b)
{
	struct mc *mc = s->mc;
	if (!s->active || !b || mc->lim.halt_msg)
		return false;
	if (mc->dim_valued != s->valued)
		return false; /* the terms still make the sum so far; the step is make_add's */
	int n = b->op == OP_ADD ? b->nkids : 1;
	struct expr *const *kids = b->op == OP_ADD ? b->kids : &b;
	for (int i = 0; i < n; i++)
		if (!sum_fits(s, kids[i]))
			return false;
	const struct expr *t0 = s->e[s->first].term;
	if (!s->scalar) {
		/* make_add's shape pass: the new terms' sizes unified with the first
		 * term's, in order (the old terms' are one class already); when one
		 * fails, make_add does the same again and reports it */
		for (int i = 0; i < n; i++)
			if (!dim_unify(mc, t0->rows, kids[i]->rows) ||
			    !dim_unify(mc, t0->cols, kids[i]->cols))
				return false;
		if (mc->dim_valued != s->valued)
			return false;
	}
	/* collect: the new terms' coefficients onto the bases, new bases last */
	if (2 * (size_t)(s->n + n) + 2 > s->nslot || s->n > 2 * s->live + 16)
		sum_rehash(s, n);
	int n0 = s->n;
	s->ntouched = 0;
	s->step++;
	for (int i = 0; i < n; i++) {
		double c;
		struct expr *base = split_coef(mc, kids[i], &c);
		size_t q = sum_slot(s, base);
		int j = s->slot[q];
		if (j < 0 || s->e[j].dead) {
			/* a new base (or one that cancelled before): a term at the end */
			sum_push(s, base, NULL, 0);
			j = s->n - 1;
			s->slot[q] = j;
		}
		sum_touch(s, j);
		s->e[j].coef += c;
	}
	/* the terms that changed, made as make_add makes them */
	int died = 0;
	bool ok = true;
	int r0 = dim_find(mc, t0->rows), c0 = dim_find(mc, t0->cols);
	for (int k = 0; k < s->ntouched && ok; k++) {
		struct sum_ent *en = &s->e[s->touched[k]];
		s->newterm[k] = NULL;
		if (en->coef == 0) {
			died++;
			continue;
		}
		struct expr *t = sum_term(mc, en->coef, en->base);
		ok = t && sum_fits(s, t) && sum_normal(mc, t, en->coef, en->base) &&
		     (s->scalar || (dim_find(mc, t->rows) == r0 && dim_find(mc, t->cols) == c0));
		s->newterm[k] = t;
	}
	int live = s->live + (s->n - n0) - died;
	if (!ok || live == 0) {
		/* undo: make_add takes this step */
		for (int k = 0; k < s->ntouched; k++)
			s->e[s->touched[k]].coef = s->oldcoef[k];
		for (int i = n0; i < s->n; i++) {
			/* the slot of a new entry goes back to the dead entry or to empty */
			size_t q = sum_slot(s, s->e[i].base);
			int prev = -1;
			for (int j = n0 - 1; j >= 0 && prev < 0; j--)
				if (s->e[j].base == s->e[i].base)
					prev = j;
			s->slot[q] = prev;
		}
		s->n = n0;
		return false;
	}
	/* commit: the sum node would take the first operand's shape */
	s->rows = s->scalar ? mc->dim_one : t0->rows;
	s->cols = s->scalar ? mc->dim_one : t0->cols;
	for (int k = 0; k < s->ntouched; k++) {
		struct sum_ent *en = &s->e[s->touched[k]];
		en->term = s->newterm[k];
		en->dead = en->coef == 0;
	}
	s->live = live;
	while (s->e[s->first].dead)
		s->first++;
	if (live > 1)
		limit_check_terms(&mc->lim, live);
	return true;
}

struct expr *expr_sum_get(struct expr_sum *s)
{
	if (!s->active)
		return NULL;
	struct expr **terms = mc_xmalloc((size_t)s->live * sizeof *terms);
	int k = 0;
	for (int i = s->first; i < s->n; i++)
		if (!s->e[i].dead)
			terms[k++] = s->e[i].term;
	struct expr *res = terms[0];
	if (k > 1) {
		struct expr p = {0};
		p.op = OP_ADD;
		p.rows = s->rows;
		p.cols = s->cols;
		p.flags = EF_SYMMETRIC;
		for (int i = 0; i < k; i++)
			if (!(terms[i]->flags & EF_SYMMETRIC))
				p.flags &= ~EF_SYMMETRIC;
		res = intern(s->mc, &p, k, terms);
	}
	free(terms);
	return res;
}

/* A 1x1 product of matrices (y^T x): it stays one scalar factor, so that
 * A (x^T y) is scaling and never the ill-shaped chain A x^T y. */
static bool is_run(struct mc *mc, const struct expr *e)
{
	if (e->op != OP_MUL || !expr_is_scalar(mc, e))
		return false;
	for (int i = 0; i < e->nkids; i++)
		if (!expr_is_scalar(mc, e->kids[i]) && !(e->kids[i]->flags & EF_HAS_PVAR))
			return true;
	return false;
}

static void flatten_mul(struct mc *mc, struct list *l, struct expr *e, bool top)
{
	if (e->op == OP_MUL && (top || !is_run(mc, e)))
		for (int i = 0; i < e->nkids; i++)
			flatten_mul(mc, l, e->kids[i], false);
	else
		list_push(l, e);
}

/* A run of matrix factors whose product is 1x1 (like y^T x), kept as one
 * scalar factor. */
static struct expr *make_run(struct mc *mc, struct list *run, int from, int to)
{
	if (to - from == 1)
		return run->v[from];
	struct expr p = {0};
	p.op = OP_MUL;
	p.rows = p.cols = mc->dim_one;
	p.flags = EF_SYMMETRIC;
	return intern(mc, &p, to - from, run->v + from);
}

/* While parsing, (A ⊗ B) vec(C) and vec(C)^T (A ⊗ B) with free sizes take the
 * sizes that make them the product vec(B C A^T) of MC (520): the size of a vec
 * alone does not say how it factors. Sizes already fixed are left alone. */
static void kron_vec_sizes(struct mc *mc, const struct expr *l, const struct expr *r)
{
	int p[4];
	if (l->op == OP_KRON && r->op == OP_VEC) {
		const struct expr *c = r->kids[0];
		p[0] = l->kids[1]->cols, p[1] = c->rows, p[2] = l->kids[0]->cols, p[3] = c->cols;
	} else if (l->op == OP_T && l->kids[0]->op == OP_VEC && r->op == OP_KRON) {
		const struct expr *c = l->kids[0]->kids[0];
		p[0] = r->kids[1]->rows, p[1] = c->rows, p[2] = r->kids[0]->rows, p[3] = c->cols;
	} else {
		return;
	}
	for (int i = 0; i < 4; i++)
		if (p[i] < 0)
			return;
	if (dim_unifiable(mc, p[0], p[1]) && dim_unifiable(mc, p[2], p[3]) && dim_unify(mc, p[0], p[1]))
		dim_unify(mc, p[2], p[3]);
}

static struct expr *make_mul(struct mc *mc, int n, struct expr **kids, bool unify)
{
	struct list atoms, scalars, run;
	list_init(&atoms);
	list_init(&scalars);
	list_init(&run);
	for (int i = 0; i < n; i++)
		if (kids[i]->op != OP_MUL)
			list_push(&atoms, kids[i]); /* what flatten_mul does with it, without the call */
		else
			flatten_mul(mc, &atoms, kids[i], n == 1);
	double coef = 1;
	bool zero = false;
	int acc_r = DIM_ANY, acc_c = DIM_ANY;
	bool pattern = false;
	struct expr *res = NULL;
	/* a 0 of no size is 0 of the size that fits: the product is 0 whatever its
	 * neighbours (in A 0 X C, made of A dB X C, A and X need not fit) */
	for (int i = 0; i < atoms.n && !unify; i++)
		if (atoms.v[i]->op == OP_ZERO && atoms.v[i]->rows < 0 && atoms.v[i]->cols < 0) {
			res = expr_zero(mc, DIM_ANY, DIM_ANY);
			goto out;
		}
	for (int i = 0; i < atoms.n; i++) {
		struct expr *a = atoms.v[i];
		if (a->op == OP_NUM) {
			coef *= a->num;
			continue;
		}
		if (a->op == OP_ZERO) {
			zero = true;
			continue;
		}
		if (a->flags & EF_HAS_PVAR)
			pattern = true;
		if (expr_is_scalar(mc, a)) {
			list_push(&scalars, a);
			continue;
		}
		if (run.n == 0) {
			acc_r = a->rows;
			acc_c = a->cols;
			list_push(&run, a);
			continue;
		}
		if (!pattern && run.n >= 2 && dim_is_one(mc, acc_r) && dim_is_one(mc, acc_c) &&
		    !unknown_shape(a)) {
			/* a 1x1 run of two or more factors followed by more: the run is one
			 * scalar factor (one canonical form for θ^T θ θ^T θ and (θ^T θ)(θ^T θ)) */
			list_push(&scalars, make_run(mc, &run, 0, run.n));
			run.n = 0;
			acc_r = a->rows;
			acc_c = a->cols;
			list_push(&run, a);
			continue;
		}
		if (unknown_shape(a)) {
			list_push(&run, a);
			continue; /* I (or a pattern) keeps the shape */
		}
		if (acc_r < 0 && acc_c < 0) {
			acc_r = a->rows;
			acc_c = a->cols;
			list_push(&run, a);
			continue;
		}
		if (unify)
			kron_vec_sizes(mc, run.v[run.n - 1], a);
		if (!same_dim(mc, acc_c, a->rows, unify)) {
			char sa[256], sb[256];
			struct expr tmp = {.op = OP_MUL, .rows = acc_r, .cols = acc_c};
			struct expr *left = run.n == 1 ? run.v[0] : NULL;
			if (left)
				describe(mc, left, sa, sizeof sa);
			else
				expr_shape_str(mc, &tmp, sa, sizeof sa);
			describe(mc, a, sb, sizeof sb);
			mc_fail(mc, MC_ERR_SHAPE,
				"cannot multiply %s by %s: inner dimensions differ", sa, sb);
			goto out;
		}
		if (!pattern && a->op == OP_ONES && run.v[run.n - 1]->op == OP_ONES) {
			/* ones(r, k) ones(k, c) = k ones(r, c): a size as a number */
			struct expr *l = run.v[--run.n], *k = expr_size(mc, a->rows);
			if (k->op == OP_NUM)
				coef *= k->num;
			else
				list_push(&scalars, k);
			struct expr *o = expr_ones(mc, l->rows, a->cols);
			if (o->op == OP_NUM) { /* 1 x 1: nothing is left of the two */
				acc_c = l->rows;
				if (run.n == 0)
					acc_r = acc_c = DIM_ANY;
				continue;
			}
			a = o;
		}
		acc_c = a->cols;
		list_push(&run, a);
	}
	if (run.n > 1 && !pattern && dim_is_one(mc, acc_r) && dim_is_one(mc, acc_c) &&
	    (scalars.n > 0 || coef != 1)) {
		list_push(&scalars, make_run(mc, &run, 0, run.n));
		run.n = 0;
	}
	int rows = run.n ? acc_r : mc->dim_one, cols = run.n ? acc_c : mc->dim_one;
	if (zero || coef == 0) {
		res = expr_zero(mc, DIM_ANY, DIM_ANY);
		goto out;
	}
	if (scalars.n > 1)
		qsort(scalars.v, (size_t)scalars.n, sizeof *scalars.v, cmp_qsort);
	struct list all;
	list_init(&all);
	if (coef != 1)
		list_push(&all, expr_num(mc, coef));
	for (int i = 0; i < scalars.n; i++)
		list_push(&all, scalars.v[i]);
	for (int i = 0; i < run.n; i++)
		list_push(&all, run.v[i]);
	if (all.n == 0)
		res = expr_num(mc, coef);
	else if (all.n == 1)
		res = all.v[0];
	else {
		struct expr p = {0};
		p.op = OP_MUL;
		p.rows = rows;
		p.cols = cols;
		if (run.n == 0 || (run.n == 1 && (run.v[0]->flags & EF_SYMMETRIC)))
			p.flags |= EF_SYMMETRIC;
		res = intern(mc, &p, all.n, all.v);
	}
	list_free(&all);
out:
	list_free(&atoms);
	list_free(&scalars);
	list_free(&run);
	return res;
}

static struct expr *make_had(struct mc *mc, int n, struct expr **kids, bool unify)
{
	struct list flat;
	list_init(&flat);
	for (int i = 0; i < n; i++) {
		if (kids[i]->op == OP_HAD)
			for (int j = 0; j < kids[i]->nkids; j++)
				list_push(&flat, kids[i]->kids[j]);
		else
			list_push(&flat, kids[i]);
	}
	int rows = DIM_ANY, cols = DIM_ANY;
	struct list scal, rest;
	list_init(&scal);
	list_init(&rest);
	struct expr *res = NULL;
	for (int i = 0; i < flat.n; i++) {
		struct expr *t = flat.v[i];
		if (t->op == OP_ZERO) {
			res = expr_zero(mc, DIM_ANY, DIM_ANY);
			goto out;
		}
		if (expr_is_scalar(mc, t)) {
			list_push(&scal, t);
			continue;
		}
		/* ones is the unit of ⊙, like 1 of a product: c ones(r, c) is the scalar c */
		if (t->op == OP_ONES) {
			rows = t->rows;
			cols = t->cols;
			continue;
		}
		if (t->op == OP_MUL && t->nkids == 2 && t->kids[1]->op == OP_ONES &&
		    expr_is_scalar(mc, t->kids[0])) {
			list_push(&scal, t->kids[0]);
			rows = t->kids[1]->rows;
			cols = t->kids[1]->cols;
			continue;
		}
		if (rows < 0 && cols < 0) {
			rows = t->rows;
			cols = t->cols;
		} else if (!unknown_shape(t) && (!same_dim(mc, rows, t->rows, unify) ||
						 !same_dim(mc, cols, t->cols, unify))) {
			char a[128], b[128];
			struct expr tmp = {.rows = rows, .cols = cols};
			expr_shape_str(mc, &tmp, a, sizeof a);
			expr_shape_str(mc, t, b, sizeof b);
			mc_fail(mc, MC_ERR_SHAPE,
				"cannot multiply %s and %s entrywise: shapes differ", a, b);
			goto out;
		}
		list_push(&rest, t);
	}
	if (rest.n == 0) {
		/* scalars only: an ordinary product (of ones, when there were ones) */
		if (rows >= 0 || cols >= 0)
			list_push(&scal, expr_ones(mc, rows, cols));
		res = expr_make(mc, OP_MUL, scal.n, scal.v, unify);
		goto out;
	}
	if (rest.n == 1) {
		res = rest.v[0];
	} else {
		struct expr p = {0};
		p.op = OP_HAD;
		p.rows = rows;
		p.cols = cols;
		p.flags = EF_SYMMETRIC;
		for (int i = 0; i < rest.n; i++)
			if (!(rest.v[i]->flags & EF_SYMMETRIC))
				p.flags &= ~EF_SYMMETRIC;
		res = intern(mc, &p, rest.n, rest.v);
	}
	if (scal.n) {
		/* a scalar times a matrix entrywise is scaling */
		list_push(&scal, res);
		res = expr_make(mc, OP_MUL, scal.n, scal.v, unify);
	}
out:
	list_free(&flat);
	list_free(&scal);
	list_free(&rest);
	return res;
}

static bool need_square(struct mc *mc, struct expr *a, const char *what, bool unify)
{
	if (unknown_shape(a) || same_dim(mc, a->rows, a->cols, unify))
		return true;
	char s[128];
	expr_shape_str(mc, a, s, sizeof s);
	return mc_fail(mc, MC_ERR_SHAPE, "%s needs a square matrix, but the argument is %s", what,
		       s);
}

static struct expr *make_node(struct mc *mc, enum expr_op op, int rows, int cols, unsigned flags,
			      int n, struct expr **kids)
{
	struct expr p = {0};
	p.op = op;
	p.rows = rows;
	p.cols = cols;
	p.flags = flags;
	return intern(mc, &p, n, kids);
}

/* The sums and products made lately: the same ones are made again and again
 * (a rule's right side rebuilt at every match, the factoring search building
 * each candidate's terms), and normalising them (flattening, collecting,
 * ordering) is most of the cost of making them. An entry holds the result of
 * make_add/make_mul/make_had for the operator and operands, while the classes
 * of sizes stay as they were (mc->dim_epoch): they are all those functions
 * read besides the operands. A direct-mapped table: a new entry replaces the
 * one in its slot. */
#define MAKE_MEMO_SLOTS 512
#define MAKE_MEMO_KIDS 4
struct make_memo {
	struct make_entry {
		uint32_t hash;
		unsigned epoch;
		unsigned char op, n, unify;
		struct expr *kids[MAKE_MEMO_KIDS];
		struct expr *r;
	} slot[MAKE_MEMO_SLOTS];
	/* expr_sorted's results (the same sums are sorted again and again) */
	struct sorted_entry {
		unsigned epoch;
		struct expr *e, *r;
	} sorted[MAKE_MEMO_SLOTS / 2];
};

void expr_make_forget(struct mc *mc) { mc->dim_epoch++; }

static struct expr *make_nary(struct mc *mc, enum expr_op op, int n, struct expr **kids,
			      bool unify)
{
	struct expr *(*make)(struct mc *, int, struct expr **, bool) =
	    op == OP_ADD ? make_add : op == OP_MUL ? make_mul : make_had;
	if (n > MAKE_MEMO_KIDS)
		return make(mc, n, kids, unify);
	/* the operands' ids, multiplied in (the entry is compared exactly below:
	 * the hash only picks the slot) */
	uint64_t hh = ((uint64_t)op * 2 + unify + 1) * 0x9e3779b97f4a7c15ULL + (uint64_t)n;
	for (int i = 0; i < n; i++)
		hh = (hh ^ kids[i]->id) * 0xff51afd7ed558ccdULL;
	uint32_t h = (uint32_t)(hh >> 32) ^ (uint32_t)hh;
	if (!mc->make_memo)
		mc->make_memo = mc_xcalloc(1, sizeof *mc->make_memo);
	struct make_entry *m = &mc->make_memo->slot[h & (MAKE_MEMO_SLOTS - 1)];
	if (m->r && m->hash == h && m->epoch == mc->dim_epoch && m->op == op && m->n == n &&
	    m->unify == unify && memcmp(m->kids, kids, (size_t)n * sizeof *kids) == 0)
		return m->r;
	unsigned epoch = mc->dim_epoch;
	struct expr *r = make(mc, n, kids, unify);
	/* kept only when nothing else changed meanwhile: the sizes (a unification
	 * the next call would not repeat) or a limit (the statement is stopping) */
	if (r && epoch == mc->dim_epoch && !mc_failed(mc)) {
		m->hash = h;
		m->epoch = epoch;
		m->op = (unsigned char)op;
		m->n = (unsigned char)n;
		m->unify = unify;
		memcpy(m->kids, kids, (size_t)n * sizeof *kids);
		m->r = r;
	}
	return r;
}

struct expr *expr_make(struct mc *mc, enum expr_op op, int n, struct expr **kids, bool unify)
{
	if (mc->lim.halt_msg)
		return NULL; /* a limit was hit: the statement is stopping */
	for (int i = 0; i < n; i++)
		if (!kids[i])
			return NULL;
	int one = mc->dim_one;
	struct expr *a = n > 0 ? kids[0] : NULL, *b = n > 1 ? kids[1] : NULL;
	char sa[128], sb[128];
	switch (op) {
	case OP_ADD:
	case OP_MUL:
	case OP_HAD:
		return make_nary(mc, op, n, kids, unify);
	case OP_EDIV: {
		if (a->op == OP_ZERO)
			return a;
		if (expr_is_scalar(mc, b) && b->op == OP_NUM) {
			struct expr *k[2] = {expr_num(mc, 1 / b->num), a};
			return expr_make(mc, OP_MUL, 2, k, unify);
		}
		int r = a->rows, c = a->cols;
		if (expr_is_scalar(mc, a) && !expr_is_scalar(mc, b)) {
			r = b->rows;
			c = b->cols;
		} else if (!expr_is_scalar(mc, b) && !unknown_shape(b) && !unknown_shape(a) &&
			   (!same_dim(mc, a->rows, b->rows, unify) ||
			    !same_dim(mc, a->cols, b->cols, unify))) {
			expr_shape_str(mc, a, sa, sizeof sa);
			expr_shape_str(mc, b, sb, sizeof sb);
			mc_fail(mc, MC_ERR_SHAPE, "cannot divide %s by %s entrywise: shapes differ",
				sa, sb);
			return NULL;
		}
		return make_node(mc, op, r, c, 0, 2, kids);
	}
	case OP_KRON:
		if (a->op == OP_ZERO || b->op == OP_ZERO)
			return expr_zero(mc, DIM_ANY, DIM_ANY);
		return make_node(mc, op, dim_product(mc, a->rows, b->rows),
				 dim_product(mc, a->cols, b->cols),
				 a->flags & b->flags & EF_SYMMETRIC, 2, kids);
	case OP_T:
		/* representation, not algebra: the transpose of a constant matrix is that constant
		 */
		if ((a->op == OP_ZERO || a->op == OP_IDENT) && unknown_shape(a))
			return a;
		if (a->op == OP_ONES)
			return expr_ones(mc, a->cols, a->rows);
		if (a->op == OP_ZERO)
			return expr_zero(mc, a->cols, a->rows);
		if (a->op == OP_IDENT)
			return a;
		if (a->op == OP_COMM) /* K(m, n)^T = K(n, m): the transposed permutation */
			return expr_comm(mc, (int)a->vcols, (int)a->vrows);
		return make_node(mc, op, a->cols, a->rows, a->flags & (EF_SYMMETRIC | EF_SPD), 1,
				 kids);
	case OP_INV:
		if (!need_square(mc, a, "inv", unify))
			return NULL;
		if (a->op == OP_ZERO) {
			mc_fail(mc, MC_ERR_SHAPE, "the inverse of 0 does not exist");
			return NULL;
		}
		if (a->op == OP_NUM)
			return expr_num(mc, 1 / a->num);
		if (a->op == OP_COMM) /* a permutation: K(m, n)^-1 = K(m, n)^T = K(n, m) */
			return expr_comm(mc, (int)a->vcols, (int)a->vrows);
		return make_node(mc, op, a->rows, a->cols, a->flags & (EF_SYMMETRIC | EF_SPD), 1,
				 kids);
	case OP_POW:
		if (!unknown_shape(b) && !expr_is_scalar(mc, b)) {
			expr_shape_str(mc, b, sb, sizeof sb);
			mc_fail(mc, MC_ERR_SHAPE, "an exponent must be a scalar, but it is %s", sb);
			return NULL;
		}
		if (b->op == OP_NUM && b->num == 1)
			return a;
		if (b->op == OP_ZERO) {
			/* A^0: the identity of A's size, 1 for a scalar */
			if (expr_is_scalar(mc, a))
				return expr_num(mc, 1);
			if (!need_square(mc, a, "a matrix power", unify))
				return NULL;
			return expr_ident(mc, DIM_ANY);
		}
		if (b->op == OP_NUM && b->num == -1)
			return expr_make1(mc, OP_INV, a, unify); /* e^-1 reads as an inverse too */
		if (a->op == OP_NUM && b->op == OP_NUM) {
			double v = pow(a->num, b->num);
			if (v != v || v == HUGE_VAL || v == -HUGE_VAL) {
				mc_fail(mc, MC_ERR_SHAPE, "%g^%g is not a real number", a->num,
					b->num);
				return NULL;
			}
			return expr_num(mc, v);
		}
		if (expr_is_scalar(mc, a) || unknown_shape(a))
			return make_node(mc, op, a->rows, a->cols, EF_SYMMETRIC, 2, kids);
		if (b->op != OP_NUM || b->num != floor(b->num)) {
			mc_fail(
			    mc, MC_ERR_SHAPE,
			    "a matrix power needs an integer exponent; for entrywise powers use ⊙");
			return NULL;
		}
		if (!unknown_shape(a) && !same_dim(mc, a->rows, a->cols, unify)) {
			expr_shape_str(mc, a, sa, sizeof sa);
			if (dim_is_one(mc, a->cols))
				mc_fail(mc, MC_ERR_SHAPE,
					"cannot raise a %s vector to a power: use x^T x for its "
					"squared "
					"length or x ⊙ x entrywise",
					sa);
			else
				mc_fail(mc, MC_ERR_SHAPE,
					"a matrix power needs a square matrix, but it is %s", sa);
			return NULL;
		}
		return make_node(mc, op, a->rows, a->cols, a->flags & EF_SYMMETRIC, 2, kids);
	case OP_NORM2:
		if (!unknown_shape(a) && !dim_is_one(mc, a->cols) && !dim_is_one(mc, a->rows)) {
			expr_shape_str(mc, a, sa, sizeof sa);
			mc_fail(
			    mc, MC_ERR_SHAPE,
			    "||·||_2 of a %s matrix is the spectral norm, which is not supported: "
			    "use ||·||_F",
			    sa);
			return NULL;
		}
		return make_node(mc, op, one, one, EF_SYMMETRIC, 1, kids);
	case OP_NORMF:
		if (!unknown_shape(a) && (dim_is_one(mc, a->cols) || dim_is_one(mc, a->rows)))
			return make_node(mc, OP_NORM2, one, one, EF_SYMMETRIC, 1, kids);
		return make_node(mc, op, one, one, EF_SYMMETRIC, 1, kids);
	case OP_TR:
	case OP_DET:
	case OP_LOGDET:
		if (!need_square(mc, a, expr_op_info(op)->name, unify))
			return NULL;
		if (op == OP_TR && a->op == OP_IDENT && a->rows >= 0)
			return expr_size(mc, a->rows); /* tr(eye(n)) = n */
		return make_node(mc, op, one, one, EF_SYMMETRIC, 1, kids);
	case OP_SUM:
		if (a->op == OP_ONES) { /* sum(ones(r, c)) = r c */
			struct expr *k[2] = {expr_size(mc, a->rows), expr_size(mc, a->cols)};
			return make_mul(mc, 2, k, unify);
		}
		return make_node(mc, op, one, one, EF_SYMMETRIC, 1, kids);
	case OP_DIAG:
		if (a->op == OP_ONES && dim_is_one(mc, a->cols))
			return expr_ident(mc,
					  a->rows); /* diag(ones(n, 1)) is eye(n) by definition */
		if (unknown_shape(a))
			return make_node(mc, op, DIM_ANY, DIM_ANY, 0, 1, kids);
		if (dim_is_one(mc, a->cols))
			return make_node(mc, op, a->rows, a->rows, EF_SYMMETRIC, 1, kids);
		if (!need_square(mc, a, "diag", unify))
			return NULL;
		return make_node(mc, op, a->rows, one, 0, 1, kids);
	case OP_VEC:
		if (unknown_shape(a))
			return make_node(mc, op, DIM_ANY, DIM_ANY, 0, 1, kids);
		return make_node(mc, op, dim_product(mc, a->rows, a->cols), one, 0, 1, kids);
	case OP_SOFTMAX:
	case OP_LOGSUMEXP:
		if (!unknown_shape(a) && !dim_is_one(mc, a->cols)) {
			expr_shape_str(mc, a, sa, sizeof sa);
			mc_fail(mc, MC_ERR_SHAPE, "%s needs a vector, but it is %s",
				expr_op_info(op)->name, sa);
			return NULL;
		}
		if (op == OP_SOFTMAX)
			return make_node(mc, op, a->rows, a->cols, 0, 1, kids);
		return make_node(mc, op, one, one, EF_SYMMETRIC, 1, kids);
	case OP_GRAD:
	case OP_HESS:
		if (!unknown_shape(a) && !expr_is_scalar(mc, a)) {
			expr_shape_str(mc, a, sa, sizeof sa);
			mc_fail(mc, MC_ERR_SHAPE,
				"%s needs a scalar function, but it is %s: use jacobian(f, x)",
				expr_op_info(op)->name, sa);
			return NULL;
		}
		if (op == OP_GRAD)
			return make_node(mc, op, b->rows, b->cols,
					 (b->flags & EF_SYMMETRIC) | EF_HAS_OP, 2, kids);
		if (dim_is_one(mc, b->cols))
			return make_node(mc, op, b->rows, b->rows, EF_SYMMETRIC | EF_HAS_OP, 2,
					 kids);
		{
			int rc = dim_product(mc, b->rows, b->cols);
			return make_node(mc, op, rc, rc, EF_SYMMETRIC | EF_HAS_OP, 2, kids);
		}
	case OP_JAC:
		/* d vec(F) / d vec(X)^T: (rows(F) cols(F)) x (rows(X) cols(X)) */
		return make_node(mc, op, dim_product(mc, a->rows, a->cols),
				 dim_product(mc, b->rows, b->cols), EF_HAS_OP, 2, kids);
	case OP_D: /* d(f), or d(f, X) in X alone */
		return make_node(mc, op, a->rows, a->cols, EF_HAS_OP | (a->flags & EF_SYMMETRIC),
				 n > 1 ? 2 : 1, kids);
	case OP_EQ:
		if (!unknown_shape(a) && !unknown_shape(b) &&
		    (!same_dim(mc, a->rows, b->rows, unify) ||
		     !same_dim(mc, a->cols, b->cols, unify))) {
			expr_shape_str(mc, a, sa, sizeof sa);
			expr_shape_str(mc, b, sb, sizeof sb);
			mc_fail(mc, MC_ERR_SHAPE, "the two sides differ in shape: %s and %s", sa,
				sb);
			return NULL;
		}
		return make_node(mc, op, a->rows, a->cols, 0, 2, kids);
	default:
		if (op >= OP_EXP && op <= OP_RELU)
			return make_node(mc, op, a->rows, a->cols, a->flags & EF_SYMMETRIC, 1,
					 kids);
		break;
	}
	mc_fail(mc, MC_ERR_SHAPE, "internal: cannot build operator %d", (int)op);
	return NULL;
}

struct expr *expr_make1(struct mc *mc, enum expr_op op, struct expr *a, bool unify)
{
	return expr_make(mc, op, 1, &a, unify);
}

struct expr *expr_make2(struct mc *mc, enum expr_op op, struct expr *a, struct expr *b, bool unify)
{
	struct expr *k[2] = {a, b};
	return expr_make(mc, op, 2, k, unify);
}

struct expr *expr_sorted(struct mc *mc, struct expr *e)
{
	if (e->op != OP_ADD && e->op != OP_HAD)
		return e;
	/* the order depends on the nodes alone: a result holds for good (it is
	 * forgotten with make_memo, between statements) */
	struct sorted_entry *m = NULL;
	if (mc->make_memo) {
		m = &mc->make_memo->sorted[(e->id * 2654435761u) >> 24 & (MAKE_MEMO_SLOTS / 2 - 1)];
		if (m->e == e && m->epoch == mc->dim_epoch)
			return m->r;
	}
	struct expr **k = mc_xmalloc((size_t)e->nkids * sizeof *k);
	memcpy(k, e->kids, (size_t)e->nkids * sizeof *k);
	qsort(k, (size_t)e->nkids, sizeof *k, e->op == OP_ADD ? cmp_terms : cmp_qsort);
	struct expr p = *e;
	p.next = NULL;
	struct expr *r = intern(mc, &p, e->nkids, k);
	free(k);
	if (m)
		*m = (struct sorted_entry){mc->dim_epoch, e, r};
	return r;
}

bool expr_sandwich_ends(const struct expr *l, const struct expr *r, const struct expr **a,
			bool *trans)
{
	if (l->op == OP_T && l->kids[0] == r && r->op != OP_T && r->op != OP_INV) {
		*a = r;
		*trans = true;
		return true;
	}
	if (r->op == OP_T && r->kids[0] == l && l->op != OP_T && l->op != OP_INV) {
		*a = l;
		*trans = false;
		return true;
	}
	return false;
}
