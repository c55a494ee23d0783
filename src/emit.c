/* emit.c - code generation, the part both generators share: the emitter's
 * state, sizes as code, the order of product chains, the generated function's
 * arguments and names, and putting a statement's outputs together. The NumPy
 * generator is emit_numpy.c, the C generator emit_c.c. */
#include "emit.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "print.h"

/* Doubles an open-addressing table whose entries start with a pointer (NULL:
 * free slot) and hold their hash at hash_off; returns the new table. */
void *emit_table_grow(void *old, size_t *cap, size_t first, size_t esz, size_t hash_off)
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

struct ninfo *emit_info(struct em *em, const struct expr *e)
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
				struct ninfo *n = emit_info(em, old[i].e);
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

char *emit_xprintf(const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return b.s ? sbuf_take(&b) : mc_xstrdup("");
}

/* ---- shapes and sizes ---- */

/* The code for the size d, read off an argument's shape (X.shape[1], X_cols),
 * a product of such sizes, or a fixed number; NULL when no argument has it. */
char *emit_dim_code(struct em *em, int d, int depth)
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
			return em->c ? emit_xprintf(vector ? "%s_len" : "%s_rows", nm)
				     : emit_xprintf("%s.shape[0]", nm);
		}
		if (a->cols >= 0 && !dim_is_one(mc, a->cols) && dim_find(mc, a->cols) == r) {
			em->args[i].used_cols = true;
			return em->c ? emit_xprintf("%s_cols", nm)
				     : emit_xprintf("%s.shape[1]", nm);
		}
	}
	long v = dim_value(mc, d);
	if (v >= 0)
		return emit_xprintf("%ld", v);
	for (int i = 0; i < mc->nprod && depth < 16; i++) {
		const int *t = &mc->prod_dims[3 * i];
		if (dim_find(mc, t[2]) != r || dim_find(mc, t[0]) == r || dim_find(mc, t[1]) == r)
			continue;
		char *a = emit_dim_code(em, t[0], depth + 1),
		     *b = a ? emit_dim_code(em, t[1], depth + 1) : NULL;
		if (a && b) {
			char *p = emit_xprintf("(%s * %s)", a, b);
			free(a);
			free(b);
			return p;
		}
		free(a);
	}
	return NULL;
}

/* dim_code, or an error naming what needs the size. */
char *emit_dim_need(struct em *em, int d, const struct expr *e)
{
	char *c = emit_dim_code(em, d, 0);
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

const struct expr *emit_chain_operand(const struct expr *k, bool *trans, bool *inv)
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

/* Splits a product into its scalar factors (returned in scalars) and its
 * matrix chain, and orders the chain by the textbook dynamic programme. */
void emit_chain_plan(struct em *em, const struct expr *e, int hr, int hc, struct chain *ch,
		     const struct expr ***scalars, int *nscalars)
{
	*scalars = mc_xmalloc((size_t)e->nkids * sizeof **scalars);
	*nscalars = 0;
	ch->f = mc_xmalloc((size_t)e->nkids * sizeof *ch->f);
	ch->n = 0;
	ch->dropped_identity = false;
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *k = e->kids[i];
		if (emit_is_scalar(em, k)) {
			(*scalars)[(*nscalars)++] = k;
			continue;
		}
		if (k->op == OP_IDENT) {
			ch->dropped_identity = true; /* multiplies by nothing */
			continue;
		}
		struct leaf *l = &ch->f[ch->n++];
		l->node = k;
		l->operand = emit_chain_operand(k, &l->trans, &l->inv);
		l->diag = !l->inv && emit_is_diag_of_vector(em, l->operand);
		l->comm = !l->inv && !l->trans && l->operand->op == OP_COMM;
		if (l->diag) {
			l->operand = l->operand->kids[0];
			l->trans = false;
		}
		l->rows = k->rows;
		l->cols = k->cols;
	}
	/* a factor of unknown size (0, ones) takes its neighbours' */
	for (int i = 0; i < ch->n; i++) {
		if (ch->f[i].rows < 0)
			ch->f[i].rows = i > 0 ? ch->f[i - 1].cols : emit_rows_of(e, hr);
		if (ch->f[i].cols < 0)
			ch->f[i].cols = i + 1 < ch->n && ch->f[i + 1].rows >= 0
					    ? ch->f[i + 1].rows
					    : emit_cols_of(e, hc);
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
				/* a lone diagonal scales: rows times columns */
				bool scaling =
				    (i == k && ch->f[i].diag) || (k + 1 == j && ch->f[j].diag);
				double c = cost[i * n + k] + cost[(k + 1) * n + j] +
					   size_guess(em, ch->f[i].rows) *
					       (scaling ? 1 : size_guess(em, ch->f[k].cols)) *
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

void emit_chain_free(struct chain *ch)
{
	free(ch->f);
	free(ch->split);
}

bool emit_is_diag_of_vector(struct em *em, const struct expr *e)
{
	if (e->op != OP_DIAG)
		return false;
	const struct expr *v = e->kids[0];
	return emit_is_one(em, v->rows) != emit_is_one(em, v->cols);
}

bool emit_sandwich_term(struct em *em, const struct expr *t, const struct expr **a, bool *trans,
			const struct expr **w)
{
	if (t->op != OP_MUL)
		return false;
	const struct expr *m[3];
	int n = 0;
	for (int i = 0; i < t->nkids; i++) {
		if (emit_is_scalar(em, t->kids[i]))
			continue;
		if (n == 3)
			return false;
		m[n++] = t->kids[i];
	}
	if (n < 2 || (n == 3 && !emit_is_diag_of_vector(em, m[1])))
		return false;
	*w = n == 3 ? m[1]->kids[0] : NULL;
	return expr_sandwich_ends(m[0], m[n - 1], a, trans);
}

bool emit_same_sandwich(struct em *em, const struct expr *e, int i, int j)
{
	const struct expr *a, *b, *w, *v;
	bool s, t;
	return emit_sandwich_term(em, e->kids[i], &a, &s, &w) &&
	       emit_sandwich_term(em, e->kids[j], &b, &t, &v) && a == b && s == t;
}

bool emit_identity_term(struct em *em, const struct expr *t)
{
	if (t->op == OP_IDENT)
		return true;
	if (t->op != OP_MUL)
		return false;
	int ids = 0;
	for (int i = 0; i < t->nkids; i++) {
		if (t->kids[i]->op == OP_IDENT)
			ids++;
		else if (!emit_is_scalar(em, t->kids[i]))
			return false;
	}
	return ids == 1;
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
		out[1] = emit_xprintf("%s_len", name);
	if (em->c && a->sym->decl->kind == KIND_MATRIX) {
		out[1] = emit_xprintf("%s_rows", name);
		out[2] = emit_xprintf("%s_cols", name);
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
	struct ninfo *n = emit_info(em, e);
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
	if (em->nargs > 1) /* qsort(NULL, 0, ...) is undefined */
		qsort(em->args, (size_t)em->nargs, sizeof *em->args, arg_cmp);
	for (int i = 0; i < em->nargs; i++) {
		struct earg *a = &em->args[i];
		struct sbuf b = {0};
		sbuf_add(&b, a->ascii);
		while (name_clash(em, i, a, b.s)) {
			/* a reserved prefix (M_ of M_rows, math.h's) stays with every
			 * underscore added: start again as arg_M (fuzz_statements found
			 * --emit=c -e 'M' looping here forever) */
			if (b.len > strlen(a->ascii) + 3 && strncmp(b.s, "arg_", 4) != 0) {
				b.len = 0;
				sbuf_printf(&b, "arg_%s", a->ascii);
				continue;
			}
			sbuf_add(&b, "_");
		}
		a->name = sbuf_take(&b);
	}
	/* the pass that collected them is over: the table counts uses from now on */
	for (size_t i = 0; i < em->cap; i++)
		em->tab[i].seen = false;
}

struct earg *emit_arg_of(struct em *em, const struct expr *sym)
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
void emit_decl_str(struct em *em, const struct expr *sym, struct sbuf *b)
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
int emit_line_reuse(struct em *em, char *rhs)
{
	uint32_t h = 2166136261u;
	for (const char *p = rhs; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	if (2 * (em->nlines + 1) > em->caplines)
		em->lines = emit_table_grow(em->lines, &em->caplines, 256, sizeof *em->lines,
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

/* The shortest decimal that reads back as the same double (in C when c). */
void emit_num_text(double v, char *buf, size_t n, bool c)
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

bool emit_unsupported(struct em *em, const struct expr *e)
{
	if (!mc_failed(em->mc)) {
		char *w = print_str(em->mc, e, PRINT_PLAIN);
		mc_fail(em->mc, MC_ERR_NOTIMPL, "cannot emit %s: %s", w,
			e->op == OP_DIFF ? "a differential has no value (emit grad(f, X) instead)"
					 : "work out the derivative first");
		free(w);
	}
	return false;
}

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

void emit_describe(struct em *em, struct expr *call, const struct eout *out, int nout,
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

int emit_name_width(struct em *em)
{
	int w = 0;
	for (int i = 0; i < em->nargs; i++)
		if ((int)strlen(em->args[i].name) > w)
			w = (int)strlen(em->args[i].name);
	return w;
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
	ok = em.c ? emit_c_code(&em, call, outs, nout, &b)
		  : emit_numpy_code(&em, call, outs, nout, &b);
	if (ok)
		fputs(b.s, out);
out:
	sbuf_free(&b);
	emit_free(&em);
	return ok;
}
