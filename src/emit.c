/* emit.c - code generation: a statement's value and derivative as a NumPy module
 * (--emit=numpy) or a C function over CBLAS/LAPACKE (--emit=c), each shared
 * node computed once and inverses that multiply turned into solves. */
#include "emit.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "print.h"

/* ---- the emitter's state ---- */

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

/* Doubles an open-addressing table whose entries start with a pointer (NULL:
 * free slot) and hold their hash at hash_off; returns the new table. */
static void *table_grow(void *old, size_t *cap, size_t first, size_t esz, size_t hash_off)
{
	size_t oldcap = *cap, newcap = oldcap ? 2 * oldcap : first;
	unsigned char *nt = mc_xmalloc(newcap * esz), *ot = old;
	memset(nt, 0, newcap * esz);
	for (size_t i = 0; i < oldcap; i++) {
		unsigned char *e = ot + i * esz;
		void *used;
		memcpy(&used, e, sizeof used);
		if (!used)
			continue;
		uint32_t h;
		memcpy(&h, e + hash_off, sizeof h);
		size_t j = h & (newcap - 1);
		for (;; j = (j + 1) & (newcap - 1)) {
			void *taken;
			memcpy(&taken, nt + j * esz, sizeof taken);
			if (!taken)
				break;
		}
		memcpy(nt + j * esz, e, esz);
	}
	free(old);
	*cap = newcap;
	return nt;
}

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
	bool counting;	   /* NumPy's first pass: count uses, print nothing */
	bool need_sigmoid; /* NumPy: the module defines _sigmoid */
	bool used_logdet;
	struct segent *segs; /* NumPy: products of chain factors, by their factors */
	size_t nsegs, capsegs;
	struct cline *lines; /* C: every right-hand side printed, by its text */
	size_t nlines, caplines;
};

static struct ninfo *info(struct em *em, const struct expr *e)
{
	if (2 * (em->len + 1) > em->cap) {
		struct ninfo *old = em->tab;
		size_t oldcap = em->cap;
		em->cap = oldcap ? 2 * oldcap : 256;
		em->tab = mc_xmalloc(em->cap * sizeof *em->tab);
		memset(em->tab, 0, em->cap * sizeof *em->tab);
		em->len = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].e) {
				struct ninfo *n = info(em, old[i].e);
				*n = old[i];
			}
		free(old);
	}
	size_t h = (size_t)(((uintptr_t)e >> 4) * 0x9e3779b97f4a7c15ULL);
	for (size_t i = h & (em->cap - 1);; i = (i + 1) & (em->cap - 1)) {
		struct ninfo *n = &em->tab[i];
		if (n->e == e)
			return n;
		if (!n->e) {
			n->e = e;
			n->temp = -1;
			em->len++;
			return n;
		}
	}
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return b.s ? sbuf_take(&b) : mc_xstrdup("");
}

/* ---- shapes and sizes ---- */

static bool is_one(struct em *em, int d) { return d >= 0 && dim_is_one(em->mc, d); }

static bool unknown_shape(const struct expr *e) { return e->rows < 0 && e->cols < 0; }

static int rows_of(const struct expr *e, int hr) { return e->rows >= 0 ? e->rows : hr; }

static int cols_of(const struct expr *e, int hc) { return e->cols >= 0 ? e->cols : hc; }

static bool is_scalar(struct em *em, const struct expr *e)
{
	return is_one(em, e->rows) && is_one(em, e->cols);
}

/* NumPy's number of axes for an r x c value: 0 a float, 1 a vector (either
 * orientation: NumPy has no row vectors), 2 a matrix. */
static int ndim(struct em *em, int r, int c)
{
	return (is_one(em, r) ? 0 : 1) + (is_one(em, c) ? 0 : 1);
}

/* The code for the size d, read off an argument's shape (X.shape[1], X_cols),
 * a product of such sizes, or a fixed number; NULL when no argument has it. */
static char *dim_code(struct em *em, int d, int depth)
{
	struct mc *mc = em->mc;
	if (d < 0)
		return NULL;
	if (dim_is_one(mc, d))
		return mc_xstrdup("1");
	int r = dim_find(mc, d);
	for (int i = 0; i < em->nargs; i++) {
		const struct expr *a = em->args[i].sym;
		const char *nm = em->args[i].name;
		bool vector = a->decl->kind == KIND_VECTOR;
		if (a->rows >= 0 && !dim_is_one(mc, a->rows) && dim_find(mc, a->rows) == r) {
			em->args[i].used_rows = true;
			return em->c ? xprintf(vector ? "%s_len" : "%s_rows", nm)
				     : xprintf("%s.shape[0]", nm);
		}
		if (a->cols >= 0 && !dim_is_one(mc, a->cols) && dim_find(mc, a->cols) == r) {
			em->args[i].used_cols = true;
			return em->c ? xprintf("%s_cols", nm) : xprintf("%s.shape[1]", nm);
		}
	}
	long v = dim_value(mc, d);
	if (v >= 0)
		return xprintf("%ld", v);
	for (int i = 0; i < mc->nprod && depth < 16; i++) {
		const int *t = &mc->prod_dims[3 * i];
		if (dim_find(mc, t[2]) != r || dim_find(mc, t[0]) == r || dim_find(mc, t[1]) == r)
			continue;
		char *a = dim_code(em, t[0], depth + 1),
		     *b = a ? dim_code(em, t[1], depth + 1) : NULL;
		if (a && b) {
			char *p = xprintf("(%s * %s)", a, b);
			free(a);
			free(b);
			return p;
		}
		free(a);
	}
	return NULL;
}

/* dim_code, or an error naming what needs the size. */
static char *dim_need(struct em *em, int d, const struct expr *e)
{
	char *c = dim_code(em, d, 0);
	if (!c && !mc_failed(em->mc)) {
		char dn[64];
		dim_print(em->mc, d, dn, sizeof dn);
		char *w = print_str(em->mc, e, PRINT_PLAIN);
		mc_fail(em->mc, MC_ERR_NOTIMPL,
			"cannot emit %s: its size %s is not the size of any argument", w,
			d < 0 ? "(unknown here)" : dn);
		free(w);
	}
	return c ? c : mc_xstrdup("1");
}

/* ---- product chains: the order of the multiplications ---- */

/* A factor of a matrix chain. Transposes and inverses around a factor are
 * folded into the operation that uses it (A^-1 B is a solve with A). */
struct leaf {
	const struct expr *node;    /* the factor as it stands in the product */
	const struct expr *operand; /* inside the transpose / inverse */
	bool trans, inv;
	int rows, cols; /* of the factor */
};

static const struct expr *chain_operand(const struct expr *k, bool *trans, bool *inv)
{
	*trans = *inv = false;
	if (k->op == OP_T && k->kids[0]->op == OP_INV) {
		*trans = *inv = true;
		return k->kids[0]->kids[0];
	}
	if (k->op == OP_INV) {
		*inv = true;
		k = k->kids[0];
		if (k->op == OP_T) {
			*trans = true;
			k = k->kids[0];
		}
		return k;
	}
	if (k->op == OP_T) {
		*trans = true;
		return k->kids[0];
	}
	return k;
}

/* A size for choosing the order: symbolic sizes count as 10 (a vector is
 * cheaper than a matrix whatever n is). */
static double size_guess(struct em *em, int d)
{
	long v = dim_value(em->mc, d);
	return v >= 0 ? (double)v : 10;
}

struct chain {
	struct leaf *f;
	int n;
	int *split; /* n x n: where [i..j] splits, for the cheapest order */
	bool dropped_identity;
};

/* Splits a product into its scalar factors (returned in scalars) and its
 * matrix chain, and orders the chain by the textbook dynamic programme. */
static void chain_plan(struct em *em, const struct expr *e, int hr, int hc, struct chain *ch,
		       const struct expr ***scalars, int *nscalars)
{
	*scalars = mc_xmalloc((size_t)e->nkids * sizeof **scalars);
	*nscalars = 0;
	ch->f = mc_xmalloc((size_t)e->nkids * sizeof *ch->f);
	ch->n = 0;
	ch->dropped_identity = false;
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *k = e->kids[i];
		if (is_scalar(em, k)) {
			(*scalars)[(*nscalars)++] = k;
			continue;
		}
		if (k->op == OP_IDENT) {
			ch->dropped_identity = true; /* multiplies by nothing */
			continue;
		}
		struct leaf *l = &ch->f[ch->n++];
		l->node = k;
		l->operand = chain_operand(k, &l->trans, &l->inv);
		l->rows = k->rows;
		l->cols = k->cols;
	}
	/* a factor of unknown size (0, ones) takes its neighbours' */
	for (int i = 0; i < ch->n; i++) {
		if (ch->f[i].rows < 0)
			ch->f[i].rows = i > 0 ? ch->f[i - 1].cols : rows_of(e, hr);
		if (ch->f[i].cols < 0)
			ch->f[i].cols = i + 1 < ch->n && ch->f[i + 1].rows >= 0 ? ch->f[i + 1].rows
										: cols_of(e, hc);
	}
	int n = ch->n;
	ch->split = mc_xmalloc((size_t)(n * n + 1) * sizeof *ch->split);
	double *cost = mc_xmalloc((size_t)(n * n + 1) * sizeof *cost);
	for (int i = 0; i < n; i++)
		cost[i * n + i] = 0;
	for (int len = 2; len <= n; len++)
		for (int i = 0; i + len - 1 < n; i++) {
			int j = i + len - 1;
			double best = -1;
			for (int k = i; k < j; k++) {
				double c = cost[i * n + k] + cost[(k + 1) * n + j] +
					   size_guess(em, ch->f[i].rows) *
					       size_guess(em, ch->f[k].cols) *
					       size_guess(em, ch->f[j].cols);
				if (best < 0 || c < best) {
					best = c;
					ch->split[i * n + j] = k;
				}
			}
			cost[i * n + j] = best;
		}
	free(cost);
}

static void chain_free(struct chain *ch)
{
	free(ch->f);
	free(ch->split);
}

/* ---- arguments and names ---- */

/* clang-format off */
static const char *const py_reserved[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
    "try", "while", "with", "yield", "np", "fun", "value", "gradient", "hessian", "jacobian",
    NULL};

static const char *const c_reserved[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "asm", "typeof",
    "alignas", "alignof", "noreturn", "static_assert", "thread_local", "complex", "imaginary",
    "I", "NULL", "EOF", "errno", "isnan", "isinf", "isfinite", "isnormal", "signbit",
    "fpclassify", "isgreater", "isgreaterequal", "isless", "islessequal", "islessgreater",
    "isunordered", "math_errhandling", "INFINITY", "NAN", "HUGE_VAL", "HUGE_VALF", "HUGE_VALL",
    "MAX", "MIN", "ABS", "g", "fun", "value", "gradient", "hessian", "jacobian", "main",
    "blasint", "bfloat16", NULL};
/* clang-format on */

static bool reserved(struct em *em, const char *name)
{
	for (const char *const *r = em->c ? c_reserved : py_reserved; *r; r++)
		if (strcmp(*r, name) == 0)
			return true;
	/* the temporaries t0, t1, ... */
	if (name[0] == 't' && name[1]) {
		const char *p = name + 1;
		while (*p >= '0' && *p <= '9')
			p++;
		if (!*p)
			return true;
	}
	if (em->c) {
		static const char *const prefixes[] = {"mcg",	 "cblas",  "Cblas",    "CBLAS",
						       "LAPACK", "lapack", "openblas", "OPENBLAS",
						       "FP_",	 "M_",	   "__",       NULL};
		for (const char *const *p = prefixes; *p; p++)
			if (strncmp(name, *p, strlen(*p)) == 0)
				return true;
	}
	return false;
}

/* The names a parameter brings along: in C, X_rows and X_cols, or x_len.
 * Owned strings in out[0..2], NULL where there is none. */
static void param_names(struct em *em, const struct earg *a, const char *name, char *out[3])
{
	out[0] = mc_xstrdup(name);
	out[1] = out[2] = NULL;
	if (em->c && a->sym->decl->kind == KIND_VECTOR)
		out[1] = xprintf("%s_len", name);
	if (em->c && a->sym->decl->kind == KIND_MATRIX) {
		out[1] = xprintf("%s_rows", name);
		out[2] = xprintf("%s_cols", name);
	}
}

static bool name_clash(struct em *em, int upto, const struct earg *a, const char *name)
{
	char *mine[3];
	bool clash = false;
	param_names(em, a, name, mine);
	for (int k = 0; k < 3; k++)
		clash |= mine[k] && reserved(em, mine[k]);
	for (int i = 0; i < upto && !clash; i++) {
		char *theirs[3];
		param_names(em, &em->args[i], em->args[i].name, theirs);
		for (int k = 0; k < 3; k++)
			for (int l = 0; l < 3; l++)
				clash |= mine[k] && theirs[l] && strcmp(mine[k], theirs[l]) == 0;
		for (int l = 0; l < 3; l++)
			free(theirs[l]);
	}
	for (int k = 0; k < 3; k++)
		free(mine[k]);
	return clash;
}

/* The symbol's name in ASCII: Greek letters spelt out, anything else escaped. */
static char *ascii_name(struct mc *mc, const char *name)
{
	bool was = mc->ascii;
	mc->ascii = true;
	struct sbuf b = {0};
	print_name(mc, &b, name);
	mc->ascii = was;
	struct sbuf o = {0};
	for (const char *p = b.s ? b.s : ""; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 0x80)
			sbuf_addn(&o, p, 1);
		else
			sbuf_printf(&o, "u%02x", ch);
	}
	sbuf_free(&b);
	return o.s ? sbuf_take(&o) : mc_xstrdup("x");
}

static void collect_args(struct em *em, const struct expr *e)
{
	struct ninfo *n = info(em, e);
	if (n->seen)
		return;
	n->seen = true;
	if (e->op == OP_SYM) {
		if (em->nargs == em->capargs) {
			em->capargs = em->capargs ? 2 * em->capargs : 8;
			em->args = mc_xrealloc(em->args, (size_t)em->capargs * sizeof *em->args);
		}
		struct earg *a = &em->args[em->nargs++];
		memset(a, 0, sizeof *a);
		a->sym = e;
		a->ascii = ascii_name(em->mc, e->name);
		return;
	}
	for (int i = 0; i < e->nkids; i++)
		collect_args(em, e->kids[i]);
}

static int arg_cmp(const void *pa, const void *pb)
{
	const struct earg *a = pa, *b = pb;
	int c = strcmp(a->ascii, b->ascii);
	if (c)
		return c;
	return a->sym->id < b->sym->id ? -1 : a->sym->id > b->sym->id;
}

/* Sorts the arguments by ASCII name and gives each a name that is no keyword
 * of the language, no name of the generated code and no other argument's:
 * a trailing underscore until it is free (lambda -> lambda_). */
static void name_args(struct em *em)
{
	qsort(em->args, (size_t)em->nargs, sizeof *em->args, arg_cmp);
	for (int i = 0; i < em->nargs; i++) {
		struct earg *a = &em->args[i];
		struct sbuf b = {0};
		sbuf_add(&b, a->ascii);
		while (name_clash(em, i, a, b.s))
			sbuf_add(&b, "_");
		a->name = sbuf_take(&b);
	}
	/* the pass that collected them is over: the table counts uses from now on */
	for (size_t i = 0; i < em->cap; i++)
		em->tab[i].seen = false;
}

static struct earg *arg_of(struct em *em, const struct expr *sym)
{
	for (int i = 0; i < em->nargs; i++)
		if (em->args[i].sym == sym)
			return &em->args[i];
	return NULL;
}

/* A size as the declarations print it; a product of sizes (the rows of
 * A ⊗ B) as its factors, n_A*n_B, whatever name its class carries. */
static void dim_text(struct em *em, int d, char *buf, size_t n, int depth)
{
	struct mc *mc = em->mc;
	int r = dim_find(mc, d);
	if (d >= 0 && dim_value(mc, d) < 0 && depth < 16)
		for (int i = 0; i < mc->nprod; i++) {
			const int *t = &mc->prod_dims[3 * i];
			if (dim_find(mc, t[2]) != r || dim_find(mc, t[0]) == r ||
			    dim_find(mc, t[1]) == r)
				continue;
			char a[64], b[64];
			dim_text(em, t[0], a, sizeof a, depth + 1);
			dim_text(em, t[1], b, sizeof b, depth + 1);
			snprintf(buf, n, "%s*%s", a, b);
			return;
		}
	dim_print(mc, d, buf, n);
}

/* The declaration of an argument, as matcalc would read it back (a product
 * size aside). */
static void decl_str(struct em *em, const struct expr *sym, struct sbuf *b)
{
	const struct decl *d = sym->decl;
	char r[160], c[160];
	dim_text(em, sym->rows, r, sizeof r, 0);
	dim_text(em, sym->cols, c, sizeof c, 0);
	sbuf_add(b, "let ");
	print_name(em->mc, b, sym->name);
	sbuf_add(b, " : ");
	switch (d->kind) {
	case KIND_SCALAR:
		sbuf_add(b, "scalar");
		break;
	case KIND_VECTOR:
		sbuf_printf(b, "vector(%s)", r);
		break;
	case KIND_MATRIX:
		sbuf_printf(b, "%smatrix(%s, %s)",
			    d->spd	   ? "spd "
			    : d->symmetric ? "symmetric "
					   : "",
			    r, c);
		break;
	}
}

/* Generated code assigns every temporary once, and what it calls is pure:
 * a right-hand side printed before is that temporary again. Returns the
 * temporary holding rhs, or -1 after recording that it will be the next one
 * (takes rhs). */
static int line_reuse(struct em *em, char *rhs)
{
	uint32_t h = 2166136261u;
	for (const char *p = rhs; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	if (2 * (em->nlines + 1) > em->caplines)
		em->lines = table_grow(em->lines, &em->caplines, 256, sizeof *em->lines,
				       offsetof(struct cline, hash));
	size_t j = h & (em->caplines - 1);
	for (; em->lines[j].rhs; j = (j + 1) & (em->caplines - 1))
		if (em->lines[j].hash == h && strcmp(em->lines[j].rhs, rhs) == 0) {
			free(rhs);
			return em->lines[j].temp;
		}
	em->lines[j] = (struct cline){rhs, h, em->ntemps};
	em->nlines++;
	return -1;
}

/* ---- NumPy ---- */

/* Python's precedence levels, loosest first. */
enum { PY_ADD = 1, PY_MUL, PY_UNARY, PY_POW, PY_ATOM };

/* Deeper expressions are split into temporaries: CPython's parser limits nesting. */
#define PY_MAX_DEPTH 40

/* A piece of Python: owned text, its precedence and its nesting depth. */
struct frag {
	char *s;
	int prec, depth;
};

static struct frag frag_printf(int prec, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct frag frag_printf(int prec, int depth, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return (struct frag){b.s ? sbuf_take(&b) : mc_xstrdup(""), prec, depth};
}

/* The text of f where precedence minprec is needed (parenthesised if looser);
 * consumes f. */
static char *take(struct frag f, int minprec)
{
	if (f.prec >= minprec)
		return f.s;
	char *s = xprintf("(%s)", f.s);
	free(f.s);
	return s;
}

static int dmax(int a, int b) { return a > b ? a : b; }

/* fn(a) or fn(a, extra). */
static struct frag py_call(const char *fn, struct frag a, const char *extra)
{
	int d = a.depth + 1;
	char *s = take(a, PY_ADD);
	struct frag r = frag_printf(PY_ATOM, d, "%s(%s%s)", fn, s, extra ? extra : "");
	free(s);
	return r;
}

/* a OP b with a at precedence pa and b at pb. */
static struct frag py_bin(struct frag a, int pa, const char *op, struct frag b, int pb, int prec)
{
	int d = dmax(a.depth, b.depth) + 1;
	char *x = take(a, pa), *y = take(b, pb);
	struct frag r = frag_printf(prec, d, "%s %s %s", x, op, y);
	free(x);
	free(y);
	return r;
}

static struct frag py_suffix(struct frag a, const char *suffix)
{
	int d = a.depth;
	char *s = take(a, PY_ATOM);
	struct frag r = frag_printf(PY_ATOM, d, "%s%s", s, suffix);
	free(s);
	return r;
}

/* The shortest decimal that reads back as the same double (in C when c). */
static void num_text(double v, char *buf, size_t n, bool c)
{
	if (isinf(v)) {
		snprintf(buf, n, "%s%s", v > 0 ? "" : "-", c ? "INFINITY" : "np.inf");
		return;
	}
	if (isnan(v)) {
		snprintf(buf, n, "%s", c ? "NAN" : "np.nan");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			break;
	}
}

static struct frag py_num(double v)
{
	char buf[64];
	num_text(v, buf, sizeof buf, false);
	return frag_printf(buf[0] == '-' ? PY_UNARY : PY_ATOM, 0, "%s", buf);
}

static struct frag py_ref(struct em *em, const struct expr *e, int hr, int hc);

/* Whether a node that is referenced twice is worth a temporary: not a leaf,
 * not a transpose (X.T costs nothing), not a node whose size comes from where
 * it stands. */
static bool py_shareable(const struct expr *e)
{
	switch (e->op) {
	case OP_SYM:
	case OP_NUM:
	case OP_IDENT:
	case OP_ZERO:
	case OP_ONES:
	case OP_T:
		return false;
	default:
		return !unknown_shape(e);
	}
}

static struct frag py_temp(struct em *em, struct frag f)
{
	int t = line_reuse(em, f.s);
	if (t < 0) {
		t = em->ntemps++;
		sbuf_printf(&em->body, "    t%d = %s\n", t, f.s);
	}
	return frag_printf(PY_ATOM, 0, "t%d", t);
}

/* A deep fragment goes into a temporary of its own. */
static struct frag py_spill(struct em *em, struct frag f)
{
	return !em->counting && f.depth > PY_MAX_DEPTH ? py_temp(em, f) : f;
}

/* A size as a function argument: (a * b) needs no parentheses there. */
static char *bare(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
	return s;
}

/* np.eye / np.zeros / np.ones of the size r x c. */
static struct frag py_filled(struct em *em, const char *fn, int r, int c, const struct expr *e)
{
	int nd = ndim(em, r, c);
	if (nd == 0)
		return frag_printf(PY_ATOM, 0, "%s", strcmp(fn, "zeros") == 0 ? "0.0" : "1.0");
	if (strcmp(fn, "eye") == 0) {
		char *n = bare(dim_need(em, r >= 0 ? r : c, e));
		struct frag f = frag_printf(PY_ATOM, 1, "np.eye(%s)", n);
		free(n);
		return f;
	}
	if (nd == 1) {
		char *n = bare(dim_need(em, is_one(em, r) ? c : r, e));
		struct frag f = frag_printf(PY_ATOM, 1, "np.%s(%s)", fn, n);
		free(n);
		return f;
	}
	char *a = bare(dim_need(em, r, e)), *b = bare(dim_need(em, c, e));
	struct frag f = frag_printf(PY_ATOM, 1, "np.%s((%s, %s))", fn, a, b);
	free(a);
	free(b);
	return f;
}

/* A segment of a product chain while it is put together. */
struct pyseg {
	struct frag f; /* the value; for a lone factor the operand inside T / ^-1 */
	bool inv;      /* a lone factor M^-1 (or M^-T), not yet applied */
	bool trans;    /* a lone factor's transpose, not yet applied (2-D only) */
	bool sym;      /* a lone factor known symmetric: its transpose is itself */
	int rows, cols;
};

/* The value of a segment that is no inverse; consumes s's text. */
static struct frag seg_value(struct pyseg *s) { return s->trans ? py_suffix(s->f, ".T") : s->f; }

/* Its transpose: X^T of a lone X^T is X again, not X.T.T. */
static struct frag seg_value_t(struct pyseg *s)
{
	return s->trans || s->sym ? s->f : py_suffix(s->f, ".T");
}

static uint32_t seg_hash(const struct expr *const *k, int n)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < n; i++)
		h = (h ^ k[i]->id) * 16777619u;
	return h;
}

/* The entry of the factors ch->f[i..j], made on first sight. */
static struct segent *seg_info(struct em *em, const struct chain *ch, int i, int j)
{
	int n = j - i + 1;
	const struct expr **key = mc_xmalloc((size_t)n * sizeof *key);
	for (int l = 0; l < n; l++)
		key[l] = ch->f[i + l].node;
	uint32_t h = seg_hash(key, n);
	if (2 * (em->nsegs + 1) > em->capsegs)
		em->segs = table_grow(em->segs, &em->capsegs, 64, sizeof *em->segs,
				      offsetof(struct segent, hash));
	size_t q = h & (em->capsegs - 1);
	for (; em->segs[q].key; q = (q + 1) & (em->capsegs - 1)) {
		struct segent *se = &em->segs[q];
		if (se->hash == h && se->n == n &&
		    memcmp(se->key, key, (size_t)n * sizeof *key) == 0) {
			free(key);
			return se;
		}
	}
	em->segs[q] = (struct segent){key, n, h, 0, -1};
	em->nsegs++;
	return &em->segs[q];
}

static struct pyseg py_seg(struct em *em, struct chain *ch, int i, int j)
{
	struct pyseg s = {0};
	struct segent *se = NULL;
	if (i < j) {
		bool keyed = true;
		for (int l = i; l <= j; l++)
			keyed &= !unknown_shape(ch->f[l].node);
		se = keyed ? seg_info(em, ch, i, j) : NULL;
	}
	if (se && (em->counting ? se->uses++ > 0 : se->temp >= 0)) {
		/* computed before (the first pass counts, as for nodes) */
		s.f = em->counting ? frag_printf(PY_ATOM, 0, "_")
				   : frag_printf(PY_ATOM, 0, "t%d", se->temp);
		s.rows = ch->f[i].rows;
		s.cols = ch->f[j].cols;
		return s;
	}
	if (i == j) {
		struct leaf *l = &ch->f[i];
		int r = l->trans ? l->cols : l->rows, c = l->trans ? l->rows : l->cols;
		s.f = py_ref(em, l->operand, r, c);
		s.rows = l->rows;
		s.cols = l->cols;
		s.inv = l->inv;
		s.sym = (l->operand->flags & EF_SYMMETRIC) != 0;
		s.trans = l->trans && ndim(em, r, c) == 2 && !s.sym;
		return s;
	}
	int k = ch->split[i * ch->n + j];
	struct pyseg a = py_seg(em, ch, i, k), b = py_seg(em, ch, k + 1, j);
	s.rows = a.rows;
	s.cols = b.cols;
	if (a.inv) {
		/* A^-1 B: a solve with A (A^-T B: with A.T) */
		struct frag y =
		    b.inv ? py_call("np.linalg.inv", seg_value(&b), NULL) : seg_value(&b);
		struct frag m = seg_value(&a);
		int d = dmax(m.depth, y.depth) + 1;
		char *xs = take(m, PY_ADD), *ys = take(y, PY_ADD);
		s.f = frag_printf(PY_ATOM, d, "np.linalg.solve(%s, %s)", xs, ys);
		free(xs);
		free(ys);
	} else if (b.inv) {
		/* B A^-1 = (A^-T B^T)^T: a solve with A.T */
		struct frag m = seg_value_t(&b);
		bool vec = is_one(em, a.rows);
		struct frag y = vec ? seg_value(&a) : seg_value_t(&a);
		int d = dmax(m.depth, y.depth) + 1;
		char *xs = take(m, PY_ADD), *ys = take(y, PY_ADD);
		s.f = frag_printf(PY_ATOM, d, "np.linalg.solve(%s, %s)%s", xs, ys, vec ? "" : ".T");
		free(xs);
		free(ys);
	} else if (is_one(em, a.cols)) {
		/* an inner size of 1: a scaling, or an outer product of two vectors */
		struct frag x = seg_value(&a), y = seg_value(&b);
		if (is_one(em, a.rows) || is_one(em, b.cols))
			s.f = py_bin(x, PY_MUL, "*", y, PY_UNARY, PY_MUL);
		else {
			int d = dmax(x.depth, y.depth) + 1;
			char *xs = take(x, PY_ADD), *ys = take(y, PY_ADD);
			s.f = frag_printf(PY_ATOM, d, "np.outer(%s, %s)", xs, ys);
			free(xs);
			free(ys);
		}
	} else {
		s.f = py_bin(seg_value(&a), PY_MUL, "@", seg_value(&b), PY_UNARY, PY_MUL);
	}
	if (se && !em->counting && se->uses >= 2) {
		s.f = py_temp(em, s.f);
		se->temp = atoi(s.f.s + 1);
		return s;
	}
	s.f = py_spill(em, s.f);
	return s;
}

/* The product of a list of fragments (consumed); "1" for none. */
static struct frag py_product(struct frag *parts, int n)
{
	if (n == 0)
		return frag_printf(PY_ATOM, 0, "1");
	if (n == 1)
		return parts[0];
	/* every factor that is itself a product in parentheses: 2 * (x @ x) */
	struct frag acc = parts[0];
	for (int i = 1; i < n; i++)
		acc = py_bin(acc, i == 1 ? PY_UNARY : PY_MUL, "*", parts[i], PY_UNARY, PY_MUL);
	return acc;
}

/* A product: the scalar factors times the chain. negate: the product with
 * its numeric coefficient negated (a sum prints it after " - "). */
static struct frag py_mul(struct em *em, const struct expr *e, int hr, int hc, bool negate)
{
	const struct expr **sc;
	int nsc;
	struct chain ch;
	chain_plan(em, e, hr, hc, &ch, &sc, &nsc);
	struct frag *parts = mc_xmalloc((size_t)(nsc + 2) * sizeof *parts);
	int nparts = 0;
	double coef = negate ? -1 : 1;
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op == OP_NUM)
			coef *= sc[i]->num;
	if (coef != 1 && coef != -1)
		parts[nparts++] = py_num(fabs(coef));
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op != OP_NUM)
			parts[nparts++] = py_ref(em, sc[i], DIM_ANY, DIM_ANY);
	if (ch.n > 0) {
		struct pyseg s = py_seg(em, &ch, 0, ch.n - 1);
		parts[nparts++] =
		    s.inv ? py_call("np.linalg.inv", seg_value(&s), NULL) : seg_value(&s);
	} else if (ch.dropped_identity) {
		int r = rows_of(e, hr);
		parts[nparts++] = py_filled(em, "eye", r, r, e);
	}
	if (nparts == 0)
		parts[nparts++] = py_num(fabs(coef));
	if (coef < 0) {
		/* the sign goes on the first factor: -2 * x, -lambda_ * x, -(X @ y) */
		int d = parts[0].depth + 1;
		char *x = take(parts[0], PY_UNARY);
		parts[0] = frag_printf(PY_UNARY, d, "-%s", x);
		free(x);
	}
	struct frag f = py_product(parts, nparts);
	free(parts);
	free(sc);
	chain_free(&ch);
	return f;
}

/* A term c ones(r, c) or c s ones(r, c) (s scalar): a scalar added to every
 * entry of a sum, which NumPy broadcasts without the ones. */
static bool ones_term(struct em *em, const struct expr *t)
{
	if (t->op == OP_ONES)
		return true;
	if (t->op != OP_MUL || t->kids[t->nkids - 1]->op != OP_ONES)
		return false;
	for (int i = 0; i < t->nkids - 1; i++)
		if (!is_scalar(em, t->kids[i]))
			return false;
	return true;
}

static struct frag py_ones_scalar(struct em *em, const struct expr *t, bool *neg)
{
	*neg = false;
	if (t->op == OP_ONES)
		return frag_printf(PY_ATOM, 0, "1");
	struct frag *parts = mc_xmalloc((size_t)t->nkids * sizeof *parts);
	int nparts = 0;
	double coef = 1;
	for (int i = 0; i < t->nkids - 1; i++)
		if (t->kids[i]->op == OP_NUM)
			coef *= t->kids[i]->num;
	*neg = coef < 0;
	if (fabs(coef) != 1)
		parts[nparts++] = py_num(fabs(coef));
	for (int i = 0; i < t->nkids - 1; i++)
		if (t->kids[i]->op != OP_NUM)
			parts[nparts++] = py_ref(em, t->kids[i], DIM_ANY, DIM_ANY);
	struct frag f = py_product(parts, nparts);
	free(parts);
	return f;
}

static struct frag py_add(struct em *em, const struct expr *e, int hr, int hc)
{
	int r = rows_of(e, hr), c = cols_of(e, hc);
	bool shaped = false;
	for (int i = 0; i < e->nkids; i++)
		if (!ones_term(em, e->kids[i]))
			shaped = true;
	struct sbuf b = {0};
	int depth = 0;
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *t = e->kids[i];
		bool neg = false;
		struct frag f;
		if (shaped && ones_term(em, t)) {
			f = py_ones_scalar(em, t, &neg);
		} else if (t->op == OP_NUM && t->num < 0) {
			f = py_num(-t->num);
			neg = true;
		} else if (t->op == OP_MUL && t->kids[0]->op == OP_NUM && t->kids[0]->num < 0 &&
			   !em->counting && info(em, t)->temp < 0 &&
			   !(py_shareable(t) && info(em, t)->uses >= 2)) {
			/* the term's only use: print it after " - " (the first pass
			 * counted it through py_ref, which reaches the same kids) */
			f = py_spill(em, py_mul(em, t, r, c, true));
			neg = true;
		} else {
			f = py_ref(em, t, r, c);
		}
		depth = dmax(depth, f.depth);
		char *x = take(f, PY_MUL);
		if (i == 0)
			sbuf_printf(&b, "%s%s", neg ? "-" : "", x);
		else
			sbuf_printf(&b, " %s %s", neg ? "-" : "+", x);
		free(x);
	}
	struct frag f = {b.s ? sbuf_take(&b) : mc_xstrdup("0"), PY_ADD, depth + 1};
	return f;
}

static struct frag py_kron(struct em *em, const struct expr *e)
{
	const struct expr *a = e->kids[0], *b = e->kids[1];
	struct frag x = py_ref(em, a, DIM_ANY, DIM_ANY), y = py_ref(em, b, DIM_ANY, DIM_ANY);
	if (is_scalar(em, a) || is_scalar(em, b))
		return py_bin(x, PY_MUL, "*", y, PY_UNARY, PY_MUL);
	int na = ndim(em, a->rows, a->cols), nb = ndim(em, b->rows, b->cols);
	bool acol = na == 1 && is_one(em, a->cols), bcol = nb == 1 && is_one(em, b->cols);
	/* NumPy reads a 1-D operand as a row: the orientation is made explicit,
	 * unless both are columns or both rows */
	if (!(na == 1 && nb == 1 && acol == bcol)) {
		if (na == 1)
			x = py_suffix(x, acol ? "[:, None]" : "[None, :]");
		if (nb == 1)
			y = py_suffix(y, bcol ? "[:, None]" : "[None, :]");
	}
	int d = dmax(x.depth, y.depth) + 1;
	char *xs = take(x, PY_ADD), *ys = take(y, PY_ADD);
	struct frag k = frag_printf(PY_ATOM, d, "np.kron(%s, %s)", xs, ys);
	free(xs);
	free(ys);
	if (ndim(em, e->rows, e->cols) == 1 && !(na == 1 && nb == 1 && acol == bcol))
		k = py_suffix(k, ".ravel()");
	return k;
}

static struct frag py_pow(struct em *em, const struct expr *e, int r, int c)
{
	const struct expr *base = e->kids[0], *p = e->kids[1];
	if (is_scalar(em, base) || ndim(em, r, c) == 0) {
		struct frag x = py_ref(em, base, r, c), y = py_ref(em, p, DIM_ANY, DIM_ANY);
		return py_bin(x, PY_ATOM, "**", y, PY_UNARY, PY_POW);
	}
	if (p->op != OP_NUM || p->num != floor(p->num) || fabs(p->num) > 1e9) {
		char *w = print_str(em->mc, e, PRINT_PLAIN);
		mc_fail(em->mc, MC_ERR_NOTIMPL,
			"cannot emit %s: a matrix power needs a whole-number exponent", w);
		free(w);
		return frag_printf(PY_ATOM, 0, "None");
	}
	long k = (long)p->num;
	bool t, inv;
	const struct expr *m = chain_operand(base, &t, &inv);
	if (!inv) {
		m = base;
		t = false;
	}
	struct frag x = py_ref(em, m, DIM_ANY, DIM_ANY);
	char ks[32];
	snprintf(ks, sizeof ks, ", %ld", inv ? -k : k);
	struct frag f = py_call("np.linalg.matrix_power", x, ks);
	return t ? py_suffix(f, ".T") : f;
}

static const char *py_function(enum expr_op op)
{
	switch (op) {
	case OP_EXP:
		return "np.exp";
	case OP_LOG:
		return "np.log";
	case OP_SIN:
		return "np.sin";
	case OP_COS:
		return "np.cos";
	case OP_TAN:
		return "np.tan";
	case OP_TANH:
		return "np.tanh";
	case OP_SQRT:
		return "np.sqrt";
	case OP_ABS:
		return "np.abs";
	case OP_SIGN:
		return "np.sign";
	default:
		return NULL;
	}
}

static struct frag py_unsupported(struct em *em, const struct expr *e)
{
	if (!mc_failed(em->mc)) {
		char *w = print_str(em->mc, e, PRINT_PLAIN);
		mc_fail(em->mc, MC_ERR_NOTIMPL, "cannot emit %s: %s", w,
			e->op == OP_DIFF ? "a differential has no value (emit grad(f, X) instead)"
					 : "work out the derivative first");
		free(w);
	}
	return frag_printf(PY_ATOM, 0, "None");
}

static struct frag py_compute(struct em *em, const struct expr *e, int hr, int hc)
{
	int r = rows_of(e, hr), c = cols_of(e, hc);
	const struct expr *a = e->nkids ? e->kids[0] : NULL;
	switch (e->op) {
	case OP_SYM: {
		struct earg *g = arg_of(em, e);
		g->used = true;
		return frag_printf(PY_ATOM, 0, "%s", g->name);
	}
	case OP_NUM:
		return py_num(e->num);
	case OP_MATRIX: {
		struct sbuf b = {0};
		bool vec = e->vrows == 1 || e->vcols == 1;
		if (e->vrows == 1 && e->vcols == 1) {
			char buf[64];
			num_text(e->vals[0], buf, sizeof buf, false);
			return frag_printf(buf[0] == '-' ? PY_UNARY : PY_ATOM, 0, "%s", buf);
		}
		sbuf_add(&b, "np.array([");
		for (long i = 0; i < (vec ? 1 : e->vrows); i++) {
			if (!vec)
				sbuf_add(&b, i ? ", [" : "[");
			long n = vec ? e->vrows * e->vcols : e->vcols;
			for (long j = 0; j < n; j++) {
				char buf[64];
				double v = vec ? e->vals[j] : e->vals[j * e->vrows + i];
				num_text(v, buf, sizeof buf, false);
				sbuf_printf(&b, "%s%s", j ? ", " : "", buf);
			}
			if (!vec)
				sbuf_add(&b, "]");
		}
		sbuf_add(&b, "], dtype=float)");
		return (struct frag){sbuf_take(&b), PY_ATOM, 1};
	}
	case OP_IDENT:
		return py_filled(em, "eye", r >= 0 ? r : c, r >= 0 ? r : c, e);
	case OP_ZERO:
		return py_filled(em, "zeros", r, c, e);
	case OP_ONES:
		return py_filled(em, "ones", r, c, e);
	case OP_ADD:
		return py_add(em, e, hr, hc);
	case OP_MUL:
		return py_mul(em, e, hr, hc, false);
	case OP_HAD: {
		/* operands that are products go in parentheses: (W.T @ y) * t0 reads
		 * better than W.T @ y * t0, which Python groups the same way */
		struct frag acc = py_ref(em, a, r, c);
		if (acc.prec == PY_MUL) {
			int d = acc.depth;
			acc = (struct frag){take(acc, PY_UNARY), PY_ATOM, d};
		}
		for (int i = 1; i < e->nkids; i++)
			acc = py_bin(acc, PY_MUL, "*", py_ref(em, e->kids[i], r, c), PY_UNARY,
				     PY_MUL);
		return acc;
	}
	case OP_EDIV:
		return py_bin(py_ref(em, a, r, c), PY_UNARY, "/", py_ref(em, e->kids[1], r, c),
			      PY_UNARY, PY_MUL);
	case OP_KRON:
		return py_kron(em, e);
	case OP_T: {
		struct frag f = py_ref(em, a, c, r);
		bool sym = a->flags & EF_SYMMETRIC;
		return ndim(em, rows_of(a, c), cols_of(a, r)) == 2 && !sym ? py_suffix(f, ".T") : f;
	}
	case OP_INV:
		if (is_scalar(em, e))
			return py_bin(frag_printf(PY_ATOM, 0, "1"), PY_MUL, "/",
				      py_ref(em, a, r, c), PY_UNARY, PY_MUL);
		return py_call("np.linalg.inv", py_ref(em, a, r, c), NULL);
	case OP_POW:
		return py_pow(em, e, r, c);
	case OP_NORM2:
	case OP_NORMF:
		if (is_scalar(em, a))
			return py_call("np.abs", py_ref(em, a, DIM_ANY, DIM_ANY), NULL);
		return py_call("np.linalg.norm", py_ref(em, a, DIM_ANY, DIM_ANY),
			       ndim(em, a->rows, a->cols) == 2 ? ", 'fro'" : NULL);
	case OP_TR:
	case OP_DET:
	case OP_DIAG:
	case OP_SUM:
	case OP_VEC: {
		struct frag f = py_ref(em, a, DIM_ANY, DIM_ANY);
		int nd = ndim(em, a->rows, a->cols);
		if (nd == 0)
			return f; /* of a scalar: the scalar */
		if (e->op == OP_TR)
			return py_call("np.trace", f, NULL);
		if (e->op == OP_DET)
			return py_call("np.linalg.det", f, NULL);
		if (e->op == OP_DIAG)
			return py_call("np.diag", f, NULL);
		if (e->op == OP_SUM)
			return py_call("np.sum", f, NULL);
		return nd == 2 ? py_suffix(f, ".reshape(-1, order='F')") : f;
	}
	case OP_LOGDET:
		em->used_logdet = true;
		if (is_scalar(em, a))
			return py_call("np.log", py_ref(em, a, DIM_ANY, DIM_ANY), NULL);
		return py_suffix(
		    py_call("np.linalg.slogdet", py_ref(em, a, DIM_ANY, DIM_ANY), NULL), "[1]");
	case OP_SIGMOID:
		em->need_sigmoid = true;
		return py_call("_sigmoid", py_ref(em, a, r, c), NULL);
	case OP_SOFTPLUS: {
		/* log(1 + exp(x)) without overflow */
		struct frag f = py_ref(em, a, r, c);
		int d = f.depth + 1;
		char *x = take(f, PY_ADD);
		struct frag g = frag_printf(PY_ATOM, d, "np.logaddexp(0, %s)", x);
		free(x);
		return g;
	}
	case OP_RELU:
		return py_call("np.maximum", py_ref(em, a, r, c), ", 0");
	default: {
		const char *fn = py_function(e->op);
		if (fn)
			return py_call(fn, py_ref(em, a, r, c), NULL);
		return py_unsupported(em, e);
	}
	}
}

/* The code of node e: a temporary when e is shared (the first pass counts
 * the references, the second prints each shared node once as tK = ...). */
static struct frag py_ref(struct em *em, const struct expr *e, int hr, int hc)
{
	if (mc_failed(em->mc))
		return frag_printf(PY_ATOM, 0, "None");
	struct ninfo *n = info(em, e);
	bool share = py_shareable(e);
	if (em->counting) {
		if (n->uses++ > 0 && share)
			return frag_printf(PY_ATOM, 0, "_");
		return py_compute(em, e, hr, hc);
	}
	if (n->temp >= 0)
		return frag_printf(PY_ATOM, 0, "t%d", n->temp);
	struct frag f = py_compute(em, e, hr, hc);
	if (share && n->uses >= 2) {
		f = py_temp(em, f);
		n->temp = atoi(f.s + 1);
		return f;
	}
	return py_spill(em, f);
}

/* ---- C ---- */

/* A temporary t<K> = the printf'd right-hand side; returns K. A right-hand
 * side printed before is that temporary again: products inside different
 * chains (X θ in X^T X θ and in y - X θ) are computed once. */
static int c_line(struct em *em, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int c_line(struct em *em, const char *fmt, ...)
{
	struct sbuf rhs = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&rhs, fmt, ap);
	va_end(ap);
	char *text = sbuf_take(&rhs);
	int t = line_reuse(em, text); /* text stays valid when it is new: the table holds it */
	if (t >= 0)
		return t;
	sbuf_printf(&em->body, "\tstruct mcg_m t%d = %s;\n", em->ntemps, text);
	return em->ntemps++;
}

static int c_ref(struct em *em, const struct expr *e, int hr, int hc);

static const char *c_function(enum expr_op op)
{
	switch (op) {
	case OP_EXP:
		return "MCG_EXP";
	case OP_LOG:
		return "MCG_LOG";
	case OP_SIN:
		return "MCG_SIN";
	case OP_COS:
		return "MCG_COS";
	case OP_TAN:
		return "MCG_TAN";
	case OP_TANH:
		return "MCG_TANH";
	case OP_SQRT:
		return "MCG_SQRT";
	case OP_SIGMOID:
		return "MCG_SIGMOID";
	case OP_SOFTPLUS:
		return "MCG_SOFTPLUS";
	case OP_ABS:
		return "MCG_ABS";
	case OP_SIGN:
		return "MCG_SIGN";
	case OP_RELU:
		return "MCG_RELU";
	default:
		return NULL;
	}
}

/* A chain segment in C: a temporary, or a lone factor whose transpose or
 * inverse is still to be applied by the BLAS/LAPACK call that uses it. */
struct cseg {
	int t;
	bool trans, inv;
	int rows, cols;
};

static struct cseg c_seg(struct em *em, struct chain *ch, int i, int j)
{
	struct cseg s = {0};
	if (i == j) {
		struct leaf *l = &ch->f[i];
		int r = l->trans ? l->cols : l->rows, c = l->trans ? l->rows : l->cols;
		s.t = c_ref(em, l->operand, r, c);
		s.trans = l->trans;
		s.inv = l->inv;
		s.rows = l->rows;
		s.cols = l->cols;
		return s;
	}
	int k = ch->split[i * ch->n + j];
	struct cseg a = c_seg(em, ch, i, k), b = c_seg(em, ch, k + 1, j);
	s.rows = a.rows;
	s.cols = b.cols;
	if (a.inv) {
		if (b.inv)
			b.t = c_line(em, "mcg_inv(&g, %s%d%s)", b.trans ? "mcg_T(&g, t" : "t", b.t,
				     b.trans ? ")" : "");
		else if (b.trans)
			b.t = c_line(em, "mcg_T(&g, t%d)", b.t);
		s.t = c_line(em, "mcg_solve(&g, t%d, %d, t%d)", a.t, a.trans, b.t);
	} else if (b.inv) {
		if (a.trans)
			a.t = c_line(em, "mcg_T(&g, t%d)", a.t);
		s.t = c_line(em, "mcg_rsolve(&g, t%d, t%d, %d)", a.t, b.t, b.trans);
	} else {
		s.t = c_line(em, "mcg_mul(&g, t%d, %d, t%d, %d)", a.t, a.trans, b.t, b.trans);
	}
	return s;
}

static int c_mul(struct em *em, const struct expr *e, int hr, int hc)
{
	const struct expr **sc;
	int nsc;
	struct chain ch;
	chain_plan(em, e, hr, hc, &ch, &sc, &nsc);
	struct sbuf coef = {0};
	double num = 1;
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op == OP_NUM)
			num *= sc[i]->num;
	char buf[64];
	num_text(num, buf, sizeof buf, true);
	if (num != 1)
		sbuf_add(&coef, buf);
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op != OP_NUM)
			sbuf_printf(&coef, "%smcg_s(t%d)", coef.len ? " * " : "",
				    c_ref(em, sc[i], DIM_ANY, DIM_ANY));
	if (!coef.len)
		sbuf_add(&coef, "1");
	int t;
	if (ch.n > 0) {
		struct cseg s = c_seg(em, &ch, 0, ch.n - 1);
		t = s.t;
		if (s.inv)
			t = s.trans ? c_line(em, "mcg_inv(&g, mcg_T(&g, t%d))", t)
				    : c_line(em, "mcg_inv(&g, t%d)", t);
		else if (s.trans)
			t = c_line(em, "mcg_T(&g, t%d)", t);
		if (strcmp(coef.s, "1") != 0)
			t = c_line(em, "mcg_scale(&g, %s, t%d)", coef.s, t);
	} else if (ch.dropped_identity) {
		char *n = dim_need(em, rows_of(e, hr), e);
		t = c_line(em, "mcg_scale(&g, %s, mcg_eye(&g, %s))", coef.s, n);
		free(n);
	} else {
		t = c_line(em, "mcg_num(&g, %s)", coef.s);
	}
	sbuf_free(&coef);
	free(sc);
	chain_free(&ch);
	return t;
}

static int c_fill(struct em *em, const struct expr *e, int r, int c, double v)
{
	char *a = dim_need(em, r, e), *b = dim_need(em, c, e);
	int t = c_line(em, "mcg_fill(&g, %s, %s, %g)", a, b, v);
	free(a);
	free(b);
	return t;
}

static int c_compute(struct em *em, const struct expr *e, int hr, int hc)
{
	int r = rows_of(e, hr), c = cols_of(e, hc);
	const struct expr *a = e->nkids ? e->kids[0] : NULL;
	switch (e->op) {
	case OP_SYM: {
		struct earg *g = arg_of(em, e);
		g->used = true;
		if (e->decl->kind == KIND_SCALAR)
			return c_line(em, "mcg_num(&g, %s)", g->name);
		if (e->decl->kind == KIND_VECTOR)
			return c_line(em, "mcg_arg(%s, %s_len, 1)", g->name, g->name);
		return c_line(em, "mcg_arg(%s, %s_rows, %s_cols)", g->name, g->name, g->name);
	}
	case OP_NUM: {
		char buf[64];
		num_text(e->num, buf, sizeof buf, true);
		return c_line(em, "mcg_num(&g, %s)", buf);
	}
	case OP_MATRIX: {
		struct sbuf b = {0};
		for (long i = 0; i < e->vrows * e->vcols; i++) {
			char buf[64];
			num_text(e->vals[i], buf, sizeof buf, true);
			sbuf_printf(&b, "%s%s", i ? ", " : "", buf);
		}
		int t = c_line(em, "mcg_lit(&g, %ld, %ld, (const double[]){%s})", e->vrows,
			       e->vcols, b.s);
		sbuf_free(&b);
		return t;
	}
	case OP_IDENT: {
		char *n = dim_need(em, r >= 0 ? r : c, e);
		int t = c_line(em, "mcg_eye(&g, %s)", n);
		free(n);
		return t;
	}
	case OP_ZERO:
		return c_fill(em, e, r, c, 0);
	case OP_ONES:
		return c_fill(em, e, r, c, 1);
	case OP_ADD: {
		int t = c_ref(em, a, r, c);
		for (int i = 1; i < e->nkids; i++) {
			int k = c_ref(em, e->kids[i], r, c);
			t = c_line(em, "mcg_add(&g, t%d, t%d, 1)", t, k);
		}
		return t;
	}
	case OP_MUL:
		return c_mul(em, e, hr, hc);
	case OP_HAD:
	case OP_EDIV: {
		int t = c_ref(em, a, r, c);
		for (int i = 1; i < e->nkids; i++) {
			int k = c_ref(em, e->kids[i], r, c);
			t = c_line(em, "mcg_had(&g, t%d, t%d, %d)", t, k, e->op == OP_EDIV);
		}
		return t;
	}
	case OP_KRON: {
		int x = c_ref(em, a, DIM_ANY, DIM_ANY), y = c_ref(em, e->kids[1], DIM_ANY, DIM_ANY);
		return c_line(em, "mcg_kron(&g, t%d, t%d)", x, y);
	}
	case OP_T:
		return c_line(em, "mcg_T(&g, t%d)", c_ref(em, a, c, r));
	case OP_INV:
		return c_line(em, "mcg_inv(&g, t%d)", c_ref(em, a, r, c));
	case OP_POW: {
		int x = c_ref(em, a, r, c), p = c_ref(em, e->kids[1], DIM_ANY, DIM_ANY);
		return c_line(em, "mcg_pow(&g, t%d, mcg_s(t%d))", x, p);
	}
	case OP_NORM2:
	case OP_NORMF:
		return c_line(em, "mcg_norm(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_TR:
		return c_line(em, "mcg_tr(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_DET:
	case OP_LOGDET:
		em->used_logdet |= e->op == OP_LOGDET;
		return c_line(em, "mcg_det(&g, t%d, %d)", c_ref(em, a, DIM_ANY, DIM_ANY),
			      e->op == OP_LOGDET);
	case OP_DIAG:
		return c_line(em, "mcg_diag(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_SUM:
		return c_line(em, "mcg_sum(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_VEC:
		return c_line(em, "mcg_vec(t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	default: {
		const char *fn = c_function(e->op);
		if (fn)
			return c_line(em, "mcg_map(&g, t%d, %s)", c_ref(em, a, r, c), fn);
		struct frag f = py_unsupported(em, e);
		free(f.s);
		return 0;
	}
	}
}

/* Each node once: a node of unknown size is made afresh where it stands. */
static int c_ref(struct em *em, const struct expr *e, int hr, int hc)
{
	if (mc_failed(em->mc))
		return 0;
	struct ninfo *n = unknown_shape(e) ? NULL : info(em, e);
	if (n && n->temp >= 0)
		return n->temp;
	int t = c_compute(em, e, hr, hc);
	if (n)
		n->temp = t;
	return t;
}

/* The runtime of the generated C: a handful of helpers over column-major
 * buffers, each returning a new matrix; after the first failure they do
 * nothing, and the function returns that failure. */
static const char c_runtime[] =
    "#include <cblas.h>\n"
    "#include <lapacke.h>\n"
    "#include <math.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "\n"
    "/* An r x c matrix of doubles, column-major; a scalar is 1 x 1. */\n"
    "struct mcg_m {\n"
    "\tint r, c;\n"
    "\tdouble *d;\n"
    "};\n"
    "\n"
    "/* The buffers of one call (freed by mcg_end) and its first failure. */\n"
    "struct mcg {\n"
    "\tdouble **pool;\n"
    "\tint n, cap;\n"
    "\tint err;\n"
    "};\n"
    "\n"
    "enum { MCG_SINGULAR = 1, MCG_SIZE = 2, MCG_NOMEM = 3, MCG_DOMAIN = 4 };\n"
    "enum { MCG_EXP, MCG_LOG, MCG_SIN, MCG_COS, MCG_TAN, MCG_TANH, MCG_SQRT, MCG_SIGMOID,\n"
    "       MCG_SOFTPLUS, MCG_ABS, MCG_SIGN, MCG_RELU };\n"
    "\n"
    "static inline struct mcg_m mcg_fail(struct mcg *g, int err)\n"
    "{\n"
    "\tstruct mcg_m m = {0, 0, NULL};\n"
    "\tif (!g->err)\n"
    "\t\tg->err = err;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_new(struct mcg *g, int r, int c)\n"
    "{\n"
    "\tstruct mcg_m m = {0, 0, NULL};\n"
    "\tif (g->err)\n"
    "\t\treturn m;\n"
    "\tif (r < 1 || c < 1)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tif (g->n == g->cap) {\n"
    "\t\tint cap = g->cap ? 2 * g->cap : 16;\n"
    "\t\tdouble **p = realloc(g->pool, (size_t)cap * sizeof *p);\n"
    "\t\tif (!p)\n"
    "\t\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\t\tg->pool = p;\n"
    "\t\tg->cap = cap;\n"
    "\t}\n"
    "\tm.d = calloc((size_t)r * (size_t)c, sizeof(double));\n"
    "\tif (!m.d)\n"
    "\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\tg->pool[g->n++] = m.d;\n"
    "\tm.r = r;\n"
    "\tm.c = c;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline int mcg_end(struct mcg *g)\n"
    "{\n"
    "\tfor (int i = 0; i < g->n; i++)\n"
    "\t\tfree(g->pool[i]);\n"
    "\tfree(g->pool);\n"
    "\treturn g->err;\n"
    "}\n"
    "\n"
    "static inline double mcg_s(struct mcg_m a)\n"
    "{\n"
    "\treturn a.d ? a.d[0] : 0;\n"
    "}\n"
    "\n"
    "/* An argument: read, never written. */\n"
    "static inline struct mcg_m mcg_arg(const double *p, int r, int c)\n"
    "{\n"
    "\tstruct mcg_m m = {r, c, (double *)p};\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline void mcg_out(double *dst, struct mcg_m a)\n"
    "{\n"
    "\tif (a.d)\n"
    "\t\tmemcpy(dst, a.d, (size_t)a.r * (size_t)a.c * sizeof(double));\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_lit(struct mcg *g, int r, int c, const double *v)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tif (m.d)\n"
    "\t\tmemcpy(m.d, v, (size_t)r * (size_t)c * sizeof(double));\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_num(struct mcg *g, double v)\n"
    "{\n"
    "\treturn mcg_lit(g, 1, 1, &v);\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_fill(struct mcg *g, int r, int c, double v)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tfor (long i = 0; m.d && i < (long)r * c; i++)\n"
    "\t\tm.d[i] = v;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_eye(struct mcg *g, int n)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, n, n);\n"
    "\tfor (int i = 0; m.d && i < n; i++)\n"
    "\t\tm.d[(long)i * n + i] = 1;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_T(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, a.c, a.r);\n"
    "\tfor (int j = 0; m.d && j < a.c; j++)\n"
    "\t\tfor (int i = 0; i < a.r; i++)\n"
    "\t\t\tm.d[(long)i * a.c + j] = a.d[(long)j * a.r + i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* a + beta b; a 1 x 1 side is added to every entry of the other. */\n"
    "static inline struct mcg_m mcg_add(struct mcg *g, struct mcg_m a, struct mcg_m b, double "
    "beta)\n"
    "{\n"
    "\tint sa = a.r == 1 && a.c == 1, sb = b.r == 1 && b.c == 1;\n"
    "\tint r = sa ? b.r : a.r, c = sa ? b.c : a.c;\n"
    "\tif (!sa && !sb && (a.r != b.r || a.c != b.c))\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tfor (long i = 0; m.d && i < (long)r * c; i++)\n"
    "\t\tm.d[i] = a.d[sa ? 0 : i] + beta * b.d[sb ? 0 : i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* a .* b, or a ./ b; a 1 x 1 side applies to every entry of the other. */\n"
    "static inline struct mcg_m mcg_had(struct mcg *g, struct mcg_m a, struct mcg_m b, int "
    "divide)\n"
    "{\n"
    "\tint sa = a.r == 1 && a.c == 1, sb = b.r == 1 && b.c == 1;\n"
    "\tint r = sa ? b.r : a.r, c = sa ? b.c : a.c;\n"
    "\tif (!sa && !sb && (a.r != b.r || a.c != b.c))\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tfor (long i = 0; m.d && i < (long)r * c; i++) {\n"
    "\t\tdouble x = a.d[sa ? 0 : i], y = b.d[sb ? 0 : i];\n"
    "\t\tm.d[i] = divide ? x / y : x * y;\n"
    "\t}\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_scale(struct mcg *g, double s, struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, a.r, a.c);\n"
    "\tfor (long i = 0; m.d && i < (long)a.r * a.c; i++)\n"
    "\t\tm.d[i] = s * a.d[i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* op(a) op(b), op transposing when ta / tb is set (dgemm). */\n"
    "static inline struct mcg_m mcg_mul(struct mcg *g, struct mcg_m a, int ta, struct mcg_m b, int "
    "tb)\n"
    "{\n"
    "\tint ar = ta ? a.c : a.r, ak = ta ? a.r : a.c;\n"
    "\tint bk = tb ? b.c : b.r, bc = tb ? b.r : b.c;\n"
    "\tif (ak != bk)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, ar, bc);\n"
    "\tif (m.d)\n"
    "\t\tcblas_dgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : "
    "CblasNoTrans,\n"
    "\t\t\t    ar, bc, ak, 1.0, a.d, a.r, b.d, b.r, 0.0, m.d, ar);\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* op(a)^-1 b: an LU solve (dgesv), never an inverse. */\n"
    "static inline struct mcg_m mcg_solve(struct mcg *g, struct mcg_m a, int ta, struct mcg_m b)\n"
    "{\n"
    "\tint n = a.r;\n"
    "\tif (a.c != n || b.r != n)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m lu = ta ? mcg_T(g, a) : mcg_lit(g, a.r, a.c, a.d);\n"
    "\tstruct mcg_m x = mcg_lit(g, b.r, b.c, b.d);\n"
    "\tlapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);\n"
    "\tif (!lu.d || !x.d || !ipiv) {\n"
    "\t\tfree(ipiv);\n"
    "\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\t}\n"
    "\tlapack_int info = LAPACKE_dgesv(LAPACK_COL_MAJOR, n, b.c, lu.d, n, ipiv, x.d, n);\n"
    "\tfree(ipiv);\n"
    "\tif (info != 0)\n"
    "\t\treturn mcg_fail(g, info > 0 ? MCG_SINGULAR : MCG_SIZE);\n"
    "\treturn x;\n"
    "}\n"
    "\n"
    "/* b op(a)^-1 = (op(a)^-T b^T)^T */\n"
    "static inline struct mcg_m mcg_rsolve(struct mcg *g, struct mcg_m b, struct mcg_m a, int ta)\n"
    "{\n"
    "\treturn mcg_T(g, mcg_solve(g, a, !ta, mcg_T(g, b)));\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_inv(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\treturn mcg_solve(g, a, 0, mcg_eye(g, a.r));\n"
    "}\n"
    "\n"
    "static inline double mcg_f(int f, double x)\n"
    "{\n"
    "\tswitch (f) {\n"
    "\tcase MCG_EXP: return exp(x);\n"
    "\tcase MCG_LOG: return log(x);\n"
    "\tcase MCG_SIN: return sin(x);\n"
    "\tcase MCG_COS: return cos(x);\n"
    "\tcase MCG_TAN: return tan(x);\n"
    "\tcase MCG_TANH: return tanh(x);\n"
    "\tcase MCG_SQRT: return sqrt(x);\n"
    "\tcase MCG_SIGMOID: return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));\n"
    "\tcase MCG_SOFTPLUS: return log1p(exp(-fabs(x))) + (x > 0 ? x : 0);\n"
    "\tcase MCG_ABS: return fabs(x);\n"
    "\tcase MCG_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;\n"
    "\tdefault: return x > 0 ? x : 0;\n"
    "\t}\n"
    "}\n"
    "\n"
    "/* A function applied to every entry. */\n"
    "static inline struct mcg_m mcg_map(struct mcg *g, struct mcg_m a, int f)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, a.r, a.c);\n"
    "\tfor (long i = 0; m.d && i < (long)a.r * a.c; i++)\n"
    "\t\tm.d[i] = mcg_f(f, a.d[i]);\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* a^p: a scalar power, or a whole-number power of a square matrix. */\n"
    "static inline struct mcg_m mcg_pow(struct mcg *g, struct mcg_m a, double p)\n"
    "{\n"
    "\tif (a.r == 1 && a.c == 1)\n"
    "\t\treturn mcg_num(g, pow(a.d[0], p));\n"
    "\tif (a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tif (p != floor(p) || fabs(p) > 1e9)\n"
    "\t\treturn mcg_fail(g, MCG_DOMAIN);\n"
    "\tlong k = (long)fabs(p);\n"
    "\tstruct mcg_m base = p < 0 ? mcg_inv(g, a) : a, r = mcg_eye(g, a.r);\n"
    "\tfor (; k > 0; k >>= 1) {\n"
    "\t\tif (k & 1)\n"
    "\t\t\tr = mcg_mul(g, r, 0, base, 0);\n"
    "\t\tif (k > 1)\n"
    "\t\t\tbase = mcg_mul(g, base, 0, base, 0);\n"
    "\t}\n"
    "\treturn r;\n"
    "}\n"
    "\n"
    "/* The 2-norm of a vector, the Frobenius norm of a matrix. */\n"
    "static inline struct mcg_m mcg_norm(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\treturn mcg_num(g, a.d ? cblas_dnrm2(a.r * a.c, a.d, 1) : 0);\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_tr(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tif (a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tdouble s = 0;\n"
    "\tfor (int i = 0; a.d && i < a.r; i++)\n"
    "\t\ts += a.d[(long)i * a.r + i];\n"
    "\treturn mcg_num(g, s);\n"
    "}\n"
    "\n"
    "/* det a, or log|det a| (logdet), from an LU factorization (dgetrf). */\n"
    "static inline struct mcg_m mcg_det(struct mcg *g, struct mcg_m a, int logabs)\n"
    "{\n"
    "\tint n = a.r;\n"
    "\tif (a.c != n)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m lu = mcg_lit(g, n, n, a.d);\n"
    "\tlapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);\n"
    "\tif (!lu.d || !ipiv) {\n"
    "\t\tfree(ipiv);\n"
    "\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\t}\n"
    "\tLAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, lu.d, n, ipiv);\n"
    "\tdouble det = 1, la = 0;\n"
    "\tfor (int i = 0; i < n; i++) {\n"
    "\t\tdouble u = lu.d[(long)i * n + i];\n"
    "\t\tdet *= ipiv[i] != i + 1 ? -u : u;\n"
    "\t\tla += log(fabs(u));\n"
    "\t}\n"
    "\tfree(ipiv);\n"
    "\treturn mcg_num(g, logabs ? la : det);\n"
    "}\n"
    "\n"
    "/* A vector's diagonal matrix, or a square matrix's diagonal. */\n"
    "static inline struct mcg_m mcg_diag(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m;\n"
    "\tif (a.r == 1 || a.c == 1) {\n"
    "\t\tint n = a.r * a.c;\n"
    "\t\tm = mcg_new(g, n, n);\n"
    "\t\tfor (int i = 0; m.d && i < n; i++)\n"
    "\t\t\tm.d[(long)i * n + i] = a.d[i];\n"
    "\t\treturn m;\n"
    "\t}\n"
    "\tif (a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tm = mcg_new(g, a.r, 1);\n"
    "\tfor (int i = 0; m.d && i < a.r; i++)\n"
    "\t\tm.d[i] = a.d[(long)i * a.r + i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_sum(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tdouble s = 0;\n"
    "\tfor (long i = 0; a.d && i < (long)a.r * a.c; i++)\n"
    "\t\ts += a.d[i];\n"
    "\treturn mcg_num(g, s);\n"
    "}\n"
    "\n"
    "/* The columns stacked: column-major storage already is. */\n"
    "static inline struct mcg_m mcg_vec(struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m = {a.r * a.c, 1, a.d};\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_kron(struct mcg *g, struct mcg_m a, struct mcg_m b)\n"
    "{\n"
    "\tint R = a.r * b.r, C = a.c * b.c;\n"
    "\tstruct mcg_m m = mcg_new(g, R, C);\n"
    "\tfor (int j1 = 0; m.d && j1 < a.c; j1++)\n"
    "\t\tfor (int i1 = 0; i1 < a.r; i1++)\n"
    "\t\t\tfor (int j2 = 0; j2 < b.c; j2++)\n"
    "\t\t\t\tfor (int i2 = 0; i2 < b.r; i2++)\n"
    "\t\t\t\t\tm.d[((long)j1 * b.c + j2) * R + (long)i1 * b.r + i2] =\n"
    "\t\t\t\t\t    a.d[(long)j1 * a.r + i1] * b.d[(long)j2 * b.r + i2];\n"
    "\treturn m;\n"
    "}\n";

/* ---- putting a statement together ---- */

/* The outputs of a statement: value and derivative(s). False with an error
 * for a statement that has no value (a differential). */
static bool outputs(struct em *em, struct expr *call, struct expr *result, struct eout *out,
		    int *nout, struct expr **var)
{
	struct session *s = em->s;
	*var = NULL;
	*nout = 0;
	if (call->op == OP_D || (result->flags & (EF_HAS_DIFF | EF_HAS_PVAR))) {
		mc_fail(
		    em->mc, MC_ERR_NOTIMPL,
		    "--emit=%s: a differential has no value to compute; emit grad(f, X) instead",
		    em->c ? "c" : "numpy");
		return false;
	}
	if (call->op != OP_GRAD && call->op != OP_HESS && call->op != OP_JAC) {
		out[(*nout)++] = (struct eout){"value", result, call->rows, call->cols};
		return true;
	}
	struct expr *f = call->kids[0], *x = call->kids[1];
	*var = x;
	if (f->flags & EF_HAS_OP) {
		f = diff_derive(s, f);
		if (!f)
			return false;
	}
	out[(*nout)++] = (struct eout){"value", f, f->rows, f->cols};
	if (call->op == OP_HESS) {
		struct expr *g = diff_gradient(s, f, x);
		if (!g)
			return false;
		out[(*nout)++] = (struct eout){"gradient", g, x->rows, x->cols};
		out[(*nout)++] = (struct eout){"hessian", result, call->rows, call->cols};
	} else {
		out[(*nout)++] = (struct eout){call->op == OP_JAC ? "jacobian" : "gradient", result,
					       call->rows, call->cols};
	}
	return true;
}

/* "# " + text, for every line of text, into b (prefix: "# " or " * "). */
static void comment(struct sbuf *b, const char *prefix, const char *text)
{
	sbuf_add(b, prefix);
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			sbuf_add(b, "\n");
			sbuf_add(b, prefix);
		} else if (p[0] == '*' && p[1] == '/') {
			sbuf_add(b, "* "); /* never close a C comment early */
		} else {
			sbuf_addn(b, p, 1);
		}
	}
	sbuf_add(b, "\n");
}

static void describe(struct em *em, struct expr *call, const struct eout *out, int nout,
		     const char *prefix, struct sbuf *b)
{
	char *st = print_str(em->mc, call, PRINT_PLAIN);
	struct sbuf line = {0};
	sbuf_printf(&line, "  %s", st);
	comment(b, prefix, line.s);
	free(st);
	sbuf_free(&line);
	for (int i = 0; i < nout; i++) {
		char *w = print_str(em->mc, out[i].e, PRINT_PLAIN);
		struct sbuf l = {0};
		char label[16];
		snprintf(label, sizeof label, "%s:", out[i].label);
		sbuf_printf(&l, "%-10s%s", label, w);
		comment(b, prefix, l.s);
		sbuf_free(&l);
		free(w);
	}
}

static void emit_free(struct em *em)
{
	for (int i = 0; i < em->nargs; i++) {
		free(em->args[i].ascii);
		free(em->args[i].name);
	}
	free(em->args);
	free(em->tab);
	for (size_t i = 0; i < em->capsegs; i++)
		free(em->segs[i].key);
	free(em->segs);
	for (size_t i = 0; i < em->caplines; i++)
		free(em->lines[i].rhs);
	free(em->lines);
	sbuf_free(&em->body);
}

static int name_width(struct em *em)
{
	int w = 0;
	for (int i = 0; i < em->nargs; i++)
		w = dmax(w, (int)strlen(em->args[i].name));
	return w;
}

static bool emit_numpy(struct em *em, struct expr *call, const struct eout *out, int nout,
		       struct sbuf *b)
{
	struct frag f[3];
	for (int pass = 0; pass < 2; pass++) {
		em->counting = pass == 0;
		em->ntemps = 0;
		sbuf_free(&em->body);
		for (int i = 0; i < nout; i++) {
			f[i] = py_ref(em, out[i].e, out[i].rows, out[i].cols);
			if (pass == 1)
				sbuf_printf(&em->body, "    %s = %s\n", out[i].label, f[i].s);
			free(f[i].s);
		}
	}
	if (mc_failed(em->mc))
		return false;
	sbuf_add(b, "# Generated by matcalc --emit=numpy.\n");
	sbuf_add(b, "# fun(");
	for (int i = 0; i < em->nargs; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", em->args[i].name);
	sbuf_add(b, nout > 1 ? ") returns (" : ") returns ");
	for (int i = 0; i < nout; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", out[i].label);
	sbuf_add(b, nout > 1 ? ") for\n" : " for\n");
	describe(em, call, out, nout, "# ", b);
	sbuf_add(b, "# Arguments: floats for scalars, 1-D arrays for vectors, 2-D arrays for\n"
		    "# matrices; results have the same forms (an n x 1 or 1 x n result is 1-D).\n");
	int w = name_width(em);
	for (int i = 0; i < em->nargs; i++) {
		struct sbuf d = {0};
		decl_str(em, em->args[i].sym, &d);
		sbuf_printf(b, "#   %-*s  %s\n", w, em->args[i].name, d.s);
		sbuf_free(&d);
	}
	if (nout == 3 && !is_one(em, out[1].cols))
		sbuf_add(
		    b,
		    "# The Hessian is with respect to vec of the matrix (its columns stacked).\n");
	if (em->used_logdet)
		sbuf_add(b,
			 "# logdet(A) is np.linalg.slogdet(A)[1] = log|det A|: log det A wherever\n"
			 "# det A > 0 (as for symmetric positive definite A).\n");
	sbuf_add(b, "import numpy as np\n\n\n");
	if (em->need_sigmoid)
		sbuf_add(b, "def _sigmoid(x):\n"
			    "    \"\"\"1 / (1 + exp(-x)), in a form that never overflows.\"\"\"\n"
			    "    e = np.exp(-np.abs(x))\n"
			    "    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))\n\n\n");
	sbuf_add(b, "def fun(");
	for (int i = 0; i < em->nargs; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", em->args[i].name);
	sbuf_add(b, "):\n");
	sbuf_add(b, em->body.s);
	sbuf_add(b, "    return ");
	for (int i = 0; i < nout; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", out[i].label);
	sbuf_add(b, "\n");
	return true;
}

/* The number of entries an output holds, for the signature's comment. */
static char *out_size(struct em *em, const struct eout *o)
{
	int r = rows_of(o->e, o->rows), c = cols_of(o->e, o->cols);
	char *a = dim_code(em, r, 0), *bb = dim_code(em, c, 0);
	char *s;
	if (!a || !bb)
		s = mc_xstrdup("?");
	else if (strcmp(a, "1") == 0)
		s = mc_xstrdup(bb);
	else if (strcmp(bb, "1") == 0)
		s = mc_xstrdup(a);
	else
		s = xprintf("%s x %s", a, bb);
	free(a);
	free(bb);
	return s;
}

static bool emit_c(struct em *em, struct expr *call, const struct eout *out, int nout,
		   struct sbuf *b)
{
	int t[3];
	for (int i = 0; i < nout; i++)
		t[i] = c_ref(em, out[i].e, out[i].rows, out[i].cols);
	if (mc_failed(em->mc))
		return false;
	struct sbuf sig = {0};
	sbuf_add(&sig, "int fun(");
	for (int i = 0; i < em->nargs; i++) {
		const struct earg *a = &em->args[i];
		const char *n = a->name;
		if (a->sym->decl->kind == KIND_SCALAR)
			sbuf_printf(&sig, "double %s, ", n);
		else if (a->sym->decl->kind == KIND_VECTOR)
			sbuf_printf(&sig, "const double *%s, int %s_len, ", n, n);
		else
			sbuf_printf(&sig, "const double *%s, int %s_rows, int %s_cols, ", n, n, n);
	}
	for (int i = 0; i < nout; i++)
		sbuf_printf(&sig, "double *%s%s", out[i].label, i + 1 < nout ? ", " : ")");
	sbuf_add(b, "/* Generated by matcalc --emit=c: fun computes, for\n");
	describe(em, call, out, nout, " * ", b);
	sbuf_add(b, " *\n * ");
	sbuf_add(b, sig.s);
	sbuf_add(b, ";\n *\n"
		    " * Arrays are column-major doubles (entry (i, j) of X is X[j * X_rows + i]);\n"
		    " * a vector x has x_len entries, a scalar is a double. The arguments:\n");
	int w = name_width(em);
	for (int i = 0; i < em->nargs; i++) {
		struct sbuf d = {0};
		decl_str(em, em->args[i].sym, &d);
		sbuf_printf(b, " *   %-*s  %s\n", w, em->args[i].name, d.s);
		sbuf_free(&d);
	}
	sbuf_add(b, " * The results, written only when fun returns 0:\n");
	for (int i = 0; i < nout; i++) {
		char *sz = out_size(em, &out[i]);
		sbuf_printf(b, " *   %-9s %s double%s\n", out[i].label, sz,
			    strcmp(sz, "1") == 0 ? "" : "s");
		free(sz);
	}
	if (nout == 3 && !is_one(em, out[1].cols))
		sbuf_add(
		    b,
		    " * The Hessian is with respect to vec of the matrix (its columns stacked).\n");
	if (em->used_logdet)
		sbuf_add(b, " * logdet(A) is computed as log|det A|, which is log det A wherever "
			    "det A > 0.\n");
	sbuf_add(b, " * fun returns 0, or 1 for a singular matrix, 2 for sizes that do not fit,\n"
		    " * 3 when out of memory, 4 for a fractional power of a matrix.\n"
		    " * Build: cc -c FILE.c $(pkg-config --cflags openblas lapacke)\n"
		    " * Link:  -lopenblas -llapacke -lm\n"
		    " */\n");
	sbuf_add(b, c_runtime);
	sbuf_printf(b, "\n%s\n{\n", sig.s);
	sbuf_add(b, "\tstruct mcg g = {NULL, 0, 0, 0};\n");
	for (int i = 0; i < em->nargs; i++) {
		/* an argument only the sizes need (the variable of a zero gradient) */
		const struct earg *a = &em->args[i];
		if (a->used)
			continue;
		sbuf_printf(b, "\t(void)%s;\n", a->name);
		if (a->sym->decl->kind == KIND_VECTOR && !a->used_rows)
			sbuf_printf(b, "\t(void)%s_len;\n", a->name);
		if (a->sym->decl->kind == KIND_MATRIX && !a->used_rows)
			sbuf_printf(b, "\t(void)%s_rows;\n", a->name);
		if (a->sym->decl->kind == KIND_MATRIX && !a->used_cols)
			sbuf_printf(b, "\t(void)%s_cols;\n", a->name);
	}
	sbuf_add(b, em->body.s ? em->body.s : "");
	sbuf_add(b, "\tif (!g.err) {\n");
	for (int i = 0; i < nout; i++)
		sbuf_printf(b, "\t\tmcg_out(%s, t%d);\n", out[i].label, t[i]);
	sbuf_add(b, "\t}\n\treturn mcg_end(&g);\n}\n");
	sbuf_free(&sig);
	return true;
}

bool emit_statement(struct session *s, struct expr *call, struct expr *result, FILE *out)
{
	if (s->emit_numpy && s->emit_c)
		return mc_fail(s->mc, MC_ERR_SYNTAX, "choose one of --emit=numpy and --emit=c");
	struct em em = {0};
	em.s = s;
	em.mc = s->mc;
	em.c = s->emit_c;
	struct eout outs[3];
	int nout;
	struct expr *var;
	struct sbuf b = {0};
	bool ok = false;
	if (!outputs(&em, call, result, outs, &nout, &var))
		goto out;
	if (var)
		collect_args(&em, var);
	for (int i = 0; i < nout; i++)
		collect_args(&em, outs[i].e);
	name_args(&em);
	ok = em.c ? emit_c(&em, call, outs, nout, &b) : emit_numpy(&em, call, outs, nout, &b);
	if (ok)
		fputs(b.s, out);
out:
	sbuf_free(&b);
	emit_free(&em);
	return ok;
}
