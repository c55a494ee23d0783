/* session.c - the session's names and kinds, and resolving syntax into shaped nodes. */
#include "session.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

const struct decl *session_decl(struct session *s, const char *name)
{
	/* asking adds no name: the parser asks about every word it may split */
	const struct mc_name *info = mc_name_lookup(s->mc, name);
	return info ? info->decl : NULL;
}

const struct def *session_def(struct session *s, const char *name)
{
	if (!s->ndefs)
		return NULL; /* no interning for nothing: every name read asks */
	const char *in = mc_intern(s->mc, name);
	for (int i = 0; i < s->ndefs; i++)
		if (s->defs[i].name == in)
			return &s->defs[i];
	return NULL;
}

static void drop_def(struct session *s, const char *in)
{
	for (int i = 0; i < s->ndefs; i++)
		if (s->defs[i].name == in) {
			s->defs[i] = s->defs[--s->ndefs];
			return;
		}
}

static const struct decl *drop_decl(struct session *s, const char *in)
{
	struct mc_name *info = mc_name_info(s->mc, in);
	if (!info->decl)
		return NULL;
	info->decl = NULL;
	for (int i = 0; i < s->ndecls; i++)
		if (s->decls[i]->name == in) {
			const struct decl *d = s->decls[i];
			memmove(s->decls + i, s->decls + i + 1,
				(size_t)(s->ndecls - i - 1) * sizeof *s->decls);
			s->ndecls--;
			return d;
		}
	return NULL;
}

const struct decl *session_forget(struct session *s, const char *name)
{
	const char *in = mc_intern(s->mc, name);
	const struct decl *d = drop_decl(s, in);
	drop_def(s, in);
	return d;
}

void session_define(struct session *s, const char *name, struct expr *e)
{
	const char *in = mc_intern(s->mc, name);
	drop_decl(s, in);
	drop_def(s, in);
	if (s->ndefs == s->capdefs) {
		s->capdefs = s->capdefs ? 2 * s->capdefs : 16;
		s->defs = mc_xrealloc(s->defs, (size_t)s->capdefs * sizeof *s->defs);
	}
	s->defs[s->ndefs++] = (struct def){in, e};
}

const struct binding *session_binding(struct session *s, const struct decl *d)
{
	for (int i = 0; i < s->nbinds; i++)
		if (s->binds[i].decl == d)
			return &s->binds[i];
	return NULL;
}

/* session_add_decl for the name of entry idx of mc->names (its index stays
 * valid, as nothing below interns a name). */
static struct decl *add_decl_id(struct session *s, int idx, enum decl_kind kind, int rows,
				int cols, bool implicit)
{
	const char *in = s->mc->names[idx].str;
	if (s->mc->names[idx].decl)
		drop_decl(s, in);
	drop_def(s, in);
	struct decl *d = mc_alloc(s->mc, sizeof *d);
	d->name = in;
	d->kind = kind;
	d->rows = rows;
	d->cols = cols;
	d->implicit = implicit;
	d->generation = ++s->generation;
	if (s->ndecls == s->capdecls) {
		s->capdecls = s->capdecls ? 2 * s->capdecls : 32;
		s->decls = mc_xrealloc(s->decls, (size_t)s->capdecls * sizeof *s->decls);
	}
	s->decls[s->ndecls++] = d;
	s->mc->names[idx].decl = d;
	return d;
}

struct decl *session_add_decl(struct session *s, const char *name, enum decl_kind kind, int rows,
			      int cols, bool implicit)
{
	return add_decl_id(s, mc_name_id(s->mc, name), kind, rows, cols, implicit);
}

const struct decl *session_declare_scalar(struct session *s, const char *name)
{
	return session_add_decl(s, name, KIND_SCALAR, s->mc->dim_one, s->mc->dim_one, true);
}

static bool upper_initial(const char *name)
{
	unsigned char c = (unsigned char)name[0];
	if (c < 0x80)
		return isupper(c);
	/* Greek capitals are U+0391..U+03A9: 0xCE 0x91..0xA9 */
	return c == 0xCE && (unsigned char)name[1] <= 0xA9;
}

/* The kind the typography gives (bold: vector or matrix by the case; italic
 * beside bold: scalar), or -1 for none. */
static int style_kind(int style, const char *name)
{
	if (style == STYLE_BOLD)
		return upper_initial(name) ? KIND_MATRIX : KIND_VECTOR;
	if (style == STYLE_ITALIC)
		return KIND_SCALAR;
	return -1;
}

/* The kind a name has when nobody declared it: from the typography, else
 * from its initial (SPEC 2). id: the name's index in mc->names, or -1. */
static const struct decl *implicit_decl_id(struct session *s, const char *name, int id, int style)
{
	char auto1[300], auto2[300];
	int sk = style_kind(style, name);
	if (id < 0)
		id = mc_name_id(s->mc, name);
	if (sk == KIND_SCALAR || (sk < 0 && greek_is_scalar(name))) {
		struct decl *d = add_decl_id(s, id, KIND_SCALAR, s->mc->dim_one, s->mc->dim_one, true);
		d->styled = sk >= 0;
		return d;
	}
	bool upper = sk >= 0 ? sk == KIND_MATRIX : upper_initial(name);
	/* made-up sizes are named after the ASCII name (n_theta), so they can be typed */
	struct sbuf b = {0};
	const char *ascii = name;
	const char *q = name;
	while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
	       *q == '_')
		q++;
	if (*q) {
		/* a Greek letter (or another byte print_name might change) */
		bool was_ascii = s->mc->ascii;
		s->mc->ascii = true;
		print_name(s->mc, &b, name);
		s->mc->ascii = was_ascii;
		ascii = b.s ? b.s : name;
	}
	/* "n_%s" and "m_%s", cut to the buffers as snprintf would (without its
	 * cost: every new symbol comes here) */
	size_t len = strlen(ascii);
	if (len > sizeof auto1 - 3)
		len = sizeof auto1 - 3;
	memcpy(auto1, "n_", 2);
	memcpy(auto1 + 2, ascii, len);
	auto1[2 + len] = '\0';
	memcpy(auto2, auto1, len + 3);
	auto2[0] = 'm';
	sbuf_free(&b);
	struct decl *d;
	if (upper) {
		int r = dim_named(s->mc, auto1), cc = dim_named(s->mc, auto2);
		s->mc->dims[r].auto_named = s->mc->dims[cc].auto_named = true;
		s->mc->dims[r].not_one = s->mc->dims[cc].not_one = true;
		s->mc->dim_epoch++; /* sizes changed (expr_make's memo) */
		d = add_decl_id(s, id, KIND_MATRIX, r, cc, true);
	} else {
		int r = dim_named(s->mc, auto1);
		s->mc->dims[r].auto_named = true;
		s->mc->dims[r].not_one = true; /* a vector by its name stays a vector */
		s->mc->dim_epoch++;
		d = add_decl_id(s, id, KIND_VECTOR, r, s->mc->dim_one, true);
	}
	d->styled = sk >= 0;
	return d;
}

static const struct decl *implicit_decl(struct session *s, const char *name, int style)
{
	return implicit_decl_id(s, name, -1, style);
}

/* ---- suggestions ---- */

static int edit_distance(const char *a, const char *b)
{
	/* Damerau-Levenshtein (optimal string alignment) on bytes */
	int la = (int)strlen(a), lb = (int)strlen(b);
	if (la > 30 || lb > 30)
		return 99;
	int d[32][32];
	for (int i = 0; i <= la; i++)
		d[i][0] = i;
	for (int j = 0; j <= lb; j++)
		d[0][j] = j;
	for (int i = 1; i <= la; i++)
		for (int j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m)
				m = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < m)
				m = d[i - 2][j - 2] + 1;
			d[i][j] = m;
		}
	return d[la][lb];
}

static const char *const known_names[][2] = {
    /* name typed, name suggested */
    {"tr", "tr"},	  {"trace", "tr"},	  {"det", "det"},
    {"logdet", "logdet"}, {"inv", "inv"},	  {"diag", "diag"},
    {"sum", "sum"},	  {"vec", "vec"},	  {"kron", "kron"},
    {"exp", "exp"},	  {"log", "log"},	  {"sin", "sin"},
    {"cos", "cos"},	  {"tan", "tan"},	  {"tanh", "tanh"},
    {"sqrt", "sqrt"},	  {"sigmoid", "sigmoid"}, {"softplus", "softplus"},
    {"abs", "abs"},	  {"sign", "sign"},	  {"relu", "relu"},
    {"step", "step"},	  {"softmax", "softmax"}, {"logsumexp", "logsumexp"},
    {"ones", "ones"},	  {"zeros", "zeros"},	  {"eye", "eye"},
    {"grad", "grad"},	  {"hess", "hess"},	  {"jacobian", "jacobian"},
    {"eval", "eval"},	  {"check", "check"},	  {"gradcheck", "gradcheck"},
    {"solve", "solve"},	  {"factor", "factor"},	  {"rand", "rand"},
    {"randn", "randn"},	  {"gradient", "grad"},	  {"hessian", "hess"},
    {"hessvec", "hessvec"},
};

const char *session_suggest_function(const char *name)
{
	const char *best = NULL;
	int bd = 3;
	for (size_t i = 0; i < sizeof known_names / sizeof *known_names; i++) {
		int dd = edit_distance(name, known_names[i][0]);
		if (dd < bd) {
			bd = dd;
			best = known_names[i][1];
		}
	}
	if (best && bd * 2 > (int)strlen(name) + 1)
		return NULL;
	return best;
}

void session_names(struct session *s, void (*fn)(void *, const char *), void *arg)
{
	for (size_t i = 0; i < sizeof known_names / sizeof *known_names; i++)
		if (strcmp(known_names[i][0], known_names[i][1]) == 0 || i == 1)
			fn(arg, known_names[i][0]);
	for (int i = 0; i < s->ndecls; i++)
		fn(arg, s->decls[i]->name);
	for (int i = 0; i < s->ndefs; i++)
		fn(arg, s->defs[i].name);
}

/* ---- resolving ---- */

static struct expr *resolve(struct session *s, const struct syn *n);

static bool vfail_at(struct session *s, const struct syn *n, enum mc_errkind k, const char *fmt,
		     va_list ap)
{
	struct sbuf b = {0};
	sbuf_vprintf(&b, fmt, ap);
	mc_fail_at(s->mc, k, n->loc, "%s", b.s ? b.s : "");
	sbuf_free(&b);
	return false;
}

static bool fail_at(struct session *s, const struct syn *n, enum mc_errkind k, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail_at(struct session *s, const struct syn *n, enum mc_errkind k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(s, n, k, fmt, ap);
	va_end(ap);
	return false;
}

bool session_fail_at(struct session *s, const struct syn *n, enum mc_errkind k, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail_at(s, n, k, fmt, ap);
	va_end(ap);
	return false;
}

static const struct decl *lookup_symbol(struct session *s, const char *name, int style)
{
	const struct decl *d = session_decl(s, name);
	return d ? d : implicit_decl(s, name, style);
}

/* The byte length of the symbol at the start of s: a letter (1 byte ASCII, 2
 * Greek) and the digits after it (W1), or 0. */
static size_t letter_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = 0;
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
		n = 1;
	else if ((c == 0xCE || c == 0xCF) && greek_ascii(s))
		n = 2;
	while (n && s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* WH beside W and H (SPEC §2): an undeclared name of several letters, one of
 * which is a symbol of this statement or of the session, is refused with the
 * product it may mean. */
static bool glued_name(struct session *s, const struct syn *n)
{
	const char *name = n->name;
	size_t len = strlen(name), nletters = 0;
	bool related = false;
	/* a product is written with a few letters; a long word is a name */
	if (len > 24)
		return false;
	/* capitals and Greek letters written together (VH, WHH, Xθ) are a product
	 * of matrices in this notation, even with no W or H alone beside them */
	int capitals = 0;
	/* letters alone (W1, Xθ), else no product: asked first, without the
	 * lookups below (W_1 is a name at its second byte) */
	for (size_t i = 0, k; i < len; i += k)
		if (!(k = letter_len(name + i)))
			return false;
	for (size_t i = 0; i < len;) {
		size_t k = letter_len(name + i);
		char one[32] = {0};
		memcpy(one, name + i, k < sizeof one ? k : sizeof one - 1);
		if ((name[i] >= 'A' && name[i] <= 'Z') ||
		    ((unsigned char)name[i] == 0xCE && (unsigned char)name[i + 1] <= 0xA9))
			capitals++;
		struct mc_name *info = mc_name_info(s->mc, one);
		if (info->stmt_seen == s->stmt_serial || info->decl || session_def(s, info->str))
			related = true;
		nletters++;
		i += k;
	}
	if (nletters < 2 || (!related && capitals < 2))
		return false;
	struct sbuf b = {0};
	for (size_t i = 0; i < len;) {
		size_t k = letter_len(name + i);
		if (i)
			sbuf_add(&b, " ");
		sbuf_addn(&b, name + i, k);
		i += k;
	}
	fail_at(s, n, MC_ERR_NAME,
		"'%s' is not declared: did you mean %s? (for one name, declare it first: let %s : %s)",
		name, b.s, name, upper_initial(name) ? "matrix(n, m)" : "vector(n)");
	sbuf_free(&b);
	return true;
}

static struct expr *resolve_ident(struct session *s, const struct syn *n)
{
	struct mc *mc = s->mc;
	const char *name = n->name;
	const struct def *df = session_def(s, name);
	if (df)
		return df->e;
	/* one lookup for the name (its index stays valid while names are added) */
	int id = mc_name_id(mc, name);
	const struct decl *d = mc->names[id].decl;
	/* the style it is read with in this statement: bold anywhere in it wins */
	int style = n->style != STYLE_NONE && mc->names[id].stmt_bold == s->stmt_serial
			? STYLE_BOLD
			: n->style;
	/* the typography overrides a kind taken from the default */
	if (d && d->implicit && style_kind(style, name) >= 0 && (int)d->kind != style_kind(style, name))
		d = implicit_decl_id(s, name, id, style);
	if (d)
		return expr_sym(mc, d);
	if (strcmp(name, "I") == 0)
		return expr_ident(mc, DIM_ANY);
	/* \mathrm{d}X: the differential of X, whether X is known or not */
	if (n->diff) {
		const struct decl *x = lookup_symbol(s, name + 1, n->style);
		return x ? expr_diff(mc, expr_sym(mc, x)) : NULL;
	}
	/* dX: the differential of a known symbol, or of one named in this statement */
	if (name[0] == 'd' && name[1]) {
		const struct decl *x = session_decl(s, name + 1);
		if (!x && mc_name_info(mc, mc_intern(mc, name + 1))->stmt_seen == s->stmt_serial)
			x = lookup_symbol(s, name + 1, STYLE_NONE);
		if (x)
			return expr_diff(mc, expr_sym(mc, x));
	}
	if (strlen(name) > 1 && expr_op_by_name(name) >= 0) {
		fail_at(s, n, MC_ERR_NAME, "%s is a function: write %s(...)", name, name);
		return NULL;
	}
	/* a size that is not also a symbol (n of `let x : vector(n)`) is that size as a
	 * number; written bold (\mathbf{m}) it is a vector or a matrix, as before */
	int dim = mc->names[id].dim;
	if (dim >= 0 && style != STYLE_BOLD)
		return expr_size(mc, dim);
	if (glued_name(s, n))
		return NULL;
	/* not declared (asked above): its kind by default */
	return expr_sym(mc, implicit_decl_id(s, name, id, style));
}

/* Marks the names of a statement (and which are bold) before it is resolved. */
static void mark_names(struct session *s, const struct syn *n, int depth);

void session_begin_statement(struct session *s, const struct syn *st)
{
	s->stmt_serial++;
	mark_names(s, st, 0);
}

static void mark_names(struct session *s, const struct syn *n, int depth)
{
	if (!n || depth > MC_MAX_DEPTH + 8)
		return;
	if ((n->kind == SYN_IDENT || n->kind == SYN_CALL) && n->name) {
		/* \mathrm{d}X names X */
		const char *nm = n->diff ? n->name + 1 : n->name;
		struct mc_name *info = mc_name_info(s->mc, nm);
		info->stmt_seen = s->stmt_serial;
		if (n->style == STYLE_BOLD)
			info->stmt_bold = s->stmt_serial;
	}
	for (int i = 0; i < n->n; i++)
		mark_names(s, n->kids[i], depth + 1);
}

/* A shape error about an expression whose symbols took their kinds from the
 * default (SPEC §2): says so, with the let that would change it. */
struct defaults {
	const struct decl *d[4];
	int n, visits;
};

static void find_default(struct session *s, const struct expr *e, struct defaults *f)
{
	if (!e || ++f->visits > 4096 || f->n == 4)
		return;
	if (e->op == OP_SYM) {
		const struct decl *d = e->decl;
		/* a kind that a bound value confirms is no guess */
		if (!d || !d->implicit || session_binding(s, d))
			return;
		for (int i = 0; i < f->n; i++)
			if (f->d[i] == d)
				return;
		f->d[f->n++] = d;
		return;
	}
	for (int i = 0; i < e->nkids; i++)
		find_default(s, e->kids[i], f);
}

static const char *kind_word(enum decl_kind k, bool plural)
{
	if (k == KIND_SCALAR)
		return plural ? "scalars" : "a scalar";
	return k == KIND_VECTOR ? (plural ? "vectors" : "a vector") : (plural ? "matrices" : "a matrix");
}

static void explain_default(struct session *s, const struct expr *a, const struct expr *b)
{
	struct mc *mc = s->mc;
	if (!mc_failed(mc) || mc->err.kind != MC_ERR_SHAPE)
		return;
	struct defaults f = {0};
	find_default(s, a, &f);
	find_default(s, b, &f);
	if (!f.n)
		return;
	/* the surprising defaults first: a scalar by its Greek name, a matrix by a
	 * capital (Y for a vector), then a vector; the right operand's on a tie */
	const struct decl *best = NULL;
	int brank = 0;
	for (int i = 0; i < f.n; i++) {
		const struct decl *d = f.d[i];
		int rank = d->kind == KIND_SCALAR ? 3 : d->kind == KIND_MATRIX ? 2 : 1;
		if (rank >= brank) {
			best = f.d[i];
			brank = rank;
		}
	}
	struct sbuf m = {0};
	int plain = 0;
	for (int i = 0; i < f.n; i++)
		plain += !f.d[i]->styled;
	sbuf_printf(&m, "%s (%s", mc->err.msg, plain ? "by default " : "");
	bool first = true;
	for (int styled = 0; styled < 2; styled++)
		for (int k = KIND_SCALAR; k <= KIND_MATRIX; k++) {
			int cnt = 0;
			for (int i = 0; i < f.n; i++)
				cnt += (int)f.d[i]->kind == k && f.d[i]->styled == styled;
			if (!cnt)
				continue;
			sbuf_add(&m, first ? "" : "; ");
			first = false;
			int seen = 0;
			for (int i = 0; i < f.n; i++)
				if ((int)f.d[i]->kind == k && f.d[i]->styled == styled) {
					sbuf_printf(&m, "%s%s", seen == 0 ? "" : seen == cnt - 1 ? " and " : ", ",
						    f.d[i]->name);
					seen++;
				}
			sbuf_printf(&m, " %s %s%s", cnt > 1 ? "are" : "is",
				    kind_word((enum decl_kind)k, cnt > 1), styled ? " by typography" : "");
		}
	sbuf_printf(&m, ": `let %s : %s` changes that)", best->name,
		    best->kind == KIND_VECTOR ? "scalar" : "vector(n)");
	free(mc->err.msg);
	mc->err.msg = sbuf_take(&m);
}

/* A dimension argument: a name or a positive whole number. */
static int resolve_dim(struct session *s, const struct syn *n)
{
	if (n->kind == SYN_NUM) {
		if (n->num < 1 || n->num != (long)n->num || n->num > 1e9) {
			fail_at(s, n, MC_ERR_SHAPE, "a size must be a positive whole number");
			return -2;
		}
		return dim_const(s->mc, (long)n->num);
	}
	if (n->kind == SYN_IDENT) {
		/* n_{\theta} as the LaTeX printer writes the made-up size n_theta */
		if (mc_name_info(s->mc, mc_intern(s->mc, n->name))->dim < 0) {
			struct sbuf b = {0};
			bool was = s->mc->ascii;
			s->mc->ascii = true;
			print_name(s->mc, &b, n->name);
			s->mc->ascii = was;
			int d = b.s && strcmp(b.s, n->name) != 0 ? mc_name_info(s->mc, mc_intern(s->mc, b.s))->dim : -1;
			/* a made-up size (n_theta) is named in ASCII even before its symbol is seen */
			if (d < 0 && b.s && strcmp(b.s, n->name) != 0 &&
			    (strncmp(n->name, "n_", 2) == 0 || strncmp(n->name, "m_", 2) == 0))
				d = dim_named(s->mc, b.s);
			sbuf_free(&b);
			if (d >= 0)
				return d;
		}
		return dim_named(s->mc, n->name);
	}
	fail_at(s, n, MC_ERR_SHAPE, "a size is a name (n) or a number (3)");
	return -2;
}

static struct expr *resolve_var(struct session *s, const struct syn *n, const char *fname)
{
	if (n->kind == SYN_IDENT) {
		const struct def *df = session_def(s, n->name);
		if (df) {
			fail_at(
			    s, n, MC_ERR_NAME,
			    "cannot take %s with respect to %s: it is defined as an expression; "
			    "differentiate with respect to a symbol",
			    fname, n->name);
			return NULL;
		}
	}
	struct expr *v = resolve(s, n);
	if (!v)
		return NULL;
	if (v->op != OP_SYM) {
		fail_at(s, n, MC_ERR_NAME,
			"%s needs a symbol to differentiate with respect to, not an expression",
			fname);
		return NULL;
	}
	return v;
}

static bool is_command(const char *name)
{
	static const char *const cmds[] = {"eval",   "check", "gradcheck", "solve",
					   "factor", "rand",  "randn",	   NULL};
	for (int i = 0; cmds[i]; i++)
		if (strcmp(cmds[i], name) == 0)
			return true;
	return false;
}

static struct expr *resolve_call(struct session *s, const struct syn *n)
{
	const char *name = n->name;
	struct mc *mc = s->mc;
	/* σ(...) with σ undeclared: the logistic sigmoid */
	if (strcmp(name, "σ") == 0 && !session_def(s, name)) {
		const struct decl *sd = session_decl(s, name);
		if (!sd || sd->implicit)
			name = "sigmoid";
	}
	/* norm(x): MATLAB's and NumPy's 2-norm of a vector */
	if (strcmp(name, "norm") == 0 && !session_def(s, name) && n->n == 1) {
		struct expr *a = resolve(s, n->kids[0]);
		if (!a)
			return NULL;
		if (!(a->cols >= 0 && dim_is_one(mc, a->cols))) {
			fail_at(s, n, MC_ERR_SHAPE,
				"norm(A) of a matrix is its spectral norm in MATLAB and NumPy: write "
				"||A||_F for the Frobenius norm");
			return NULL;
		}
		return expr_make1(mc, OP_NORM2, a, true);
	}
	/* log|Σ|: log det */
	if (strcmp(name, "log") == 0 && n->n == 1 && n->kids[0]->kind == SYN_BARS) {
		struct expr *a = resolve(s, n->kids[0]->kids[0]);
		struct expr *r = a ? expr_make1(mc, OP_LOGDET, a, true) : NULL;
		if (a && !r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	int op = expr_op_by_name(name);
	if ((strcmp(name, "ones") == 0 || strcmp(name, "zeros") == 0) && n->n == 0) {
		/* \mathbf{1}, \mathbf{0}: of the size that fits */
		if (name[0] == 'z')
			return expr_zero(mc, DIM_ANY, DIM_ANY);
		int r = dim_new(mc, -1, NULL, false); /* anonymous: takes the name it meets */
		mc->dims[r].not_one = true;
		return expr_ones(mc, r, mc->dim_one);
	}
	if (strcmp(name, "ones") == 0 || strcmp(name, "zeros") == 0 || strcmp(name, "eye") == 0) {
		bool eye = name[0] == 'e';
		if (n->n != (eye ? 1 : 2)) {
			fail_at(s, n, MC_ERR_SHAPE,
				eye ? "eye takes one size: eye(n)"
				    : "%s takes two sizes: %s(rows, cols)",
				name, name);
			return NULL;
		}
		int r = resolve_dim(s, n->kids[0]);
		int c = eye ? r : resolve_dim(s, n->kids[1]);
		if (r < -1 || c < -1)
			return NULL;
		if (eye)
			return expr_ident(mc, r);
		return name[0] == 'o' ? expr_ones(mc, r, c) : expr_zero(mc, r, c);
	}
	if (strcmp(name, "hessvec") == 0) {
		/* hessvec(f, X, V): the Hessian applied to the direction V (vec(V) for a
		 * matrix X), a product evaluation and the emitters never form */
		if (n->n != 3) {
			fail_at(s, n, MC_ERR_SHAPE,
				"hessvec takes a function, a variable and a direction: "
				"hessvec(f, X, V)");
			return NULL;
		}
		struct syn call = *n;
		call.name = "hess";
		call.n = 2;
		struct expr *h = resolve(s, &call);
		struct expr *v = h ? resolve(s, n->kids[2]) : NULL;
		if (!v)
			return NULL;
		const struct expr *x = h->kids[1];
		if (!dim_is_one(mc, x->cols) && !dim_is_one(mc, v->cols))
			v = expr_make1(mc, OP_VEC, v, true);
		struct expr *r = v ? expr_make2(mc, OP_MUL, h, v, true) : NULL;
		if (!r) {
			if (!mc_failed(mc))
				fail_at(s, n->kids[2], MC_ERR_SHAPE,
					"the direction of hessvec has the variable's shape");
			mc_set_loc(mc, n->kids[2]->loc);
		}
		return r;
	}
	if (strcmp(name, "K") == 0 && n->n == 2) {
		/* K(m, n): the commutation matrix (docs/language.md) */
		int m = resolve_dim(s, n->kids[0]);
		int k = resolve_dim(s, n->kids[1]);
		if (m < -1 || k < -1)
			return NULL;
		if (m < 0 || k < 0) {
			fail_at(s, n, MC_ERR_SHAPE, "K takes two sizes: K(m, n)");
			return NULL;
		}
		return expr_comm(mc, m, k);
	}
	if (strcmp(name, "grad") == 0 || strcmp(name, "hess") == 0 ||
	    strcmp(name, "jacobian") == 0) {
		if (n->n != 2) {
			fail_at(s, n, MC_ERR_SHAPE, "%s takes a function and a variable: %s(f, X)",
				name, name);
			return NULL;
		}
		struct expr *f = resolve(s, n->kids[0]);
		if (!f)
			return NULL;
		struct expr *x = resolve_var(s, n->kids[1], name);
		if (!x)
			return NULL;
		enum expr_op o = name[0] == 'g' ? OP_GRAD : name[0] == 'h' ? OP_HESS : OP_JAC;
		if (o != OP_JAC && !expr_is_scalar(mc, f) && !(f->rows < 0 && f->cols < 0)) {
			char sh[128];
			expr_shape_str(mc, f, sh, sizeof sh);
			const char *fname = n->kids[0]->kind == SYN_IDENT ? n->kids[0]->name : "f";
			fail_at(s, n->kids[0], MC_ERR_SHAPE,
				"%s needs a scalar function, but %s is %s: use jacobian(%s, %s)",
				name, fname, sh, fname,
				n->kids[1]->kind == SYN_IDENT ? n->kids[1]->name : "x");
			return NULL;
		}
		struct expr *r = expr_make2(mc, o, f, x, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	if (strcmp(name, "d") == 0) {
		if (n->n != 1 && n->n != 2) {
			fail_at(s, n, MC_ERR_SHAPE,
				"d takes an expression, and a variable if you want one: d(f) or "
				"d(f, X)");
			return NULL;
		}
		struct expr *a = resolve(s, n->kids[0]);
		if (!a)
			return NULL;
		if (n->n == 1)
			return expr_make1(mc, OP_D, a, true);
		/* d(f, X): the differential in X alone, the others held constant */
		struct expr *x = resolve_var(s, n->kids[1], name);
		return x ? expr_make2(mc, OP_D, a, x, true) : NULL;
	}
	if (is_command(name)) {
		fail_at(s, n, MC_ERR_SYNTAX, "%s(...) is a statement: write it on its own line",
			name);
		return NULL;
	}
	if (op >= 0) {
		int arity = expr_op_info((enum expr_op)op)->arity;
		if (n->n != arity) {
			fail_at(s, n, MC_ERR_SHAPE, "%s takes %d argument%s, not %d",
				expr_op_info((enum expr_op)op)->name, arity, arity == 1 ? "" : "s",
				n->n);
			return NULL;
		}
		struct expr *k[2];
		for (int i = 0; i < n->n; i++) {
			if (n->kids[i]->kind == SYN_EQ) {
				fail_at(
				    s, n->kids[i], MC_ERR_SYNTAX,
				    "an equation is only allowed inside check(...) and solve(...)");
				return NULL;
			}
			k[i] = resolve(s, n->kids[i]);
			if (!k[i])
				return NULL;
		}
		struct expr *r = expr_make(mc, (enum expr_op)op, n->n, k, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	/* f(θ): a defined function mentioned with its arguments */
	const struct def *df = session_def(s, name);
	if (df)
		return df->e;
	/* X(A + B): a product written without a space */
	const struct decl *d = session_decl(s, name);
	bool short_name = (strlen(name) == 1 || (greek_ascii(name) && strlen(name) == 2) ||
			   strchr(name, '_'));
	if ((d || short_name) && n->n == 1 && n->kids[0]->kind != SYN_EQ) {
		struct expr *a =
		    resolve_ident(s, &(struct syn){.kind = SYN_IDENT, .name = name, .loc = n->loc});
		struct expr *b = a ? resolve(s, n->kids[0]) : NULL;
		if (!b)
			return NULL;
		struct expr *r = expr_make2(mc, OP_MUL, a, b, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	const char *sug = session_suggest_function(name);
	if (sug)
		fail_at(s, n, MC_ERR_NAME, "unknown function '%s' (did you mean '%s'?)", name, sug);
	else
		fail_at(s, n, MC_ERR_NAME, "unknown function '%s'", name);
	return NULL;
}

static bool is_sum(const struct syn *n)
{
	return n->kind == SYN_OP && (n->op == SOP_ADD || n->op == SOP_SUB);
}

/* a + b - c + ...: the chain down the left side taken in a loop, however long
 * (the parser does not count it as nesting); each + or - is applied as before,
 * with its own location for errors. */
static struct expr *resolve_sum(struct session *s, const struct syn *n)
{
	struct mc *mc = s->mc;
	long len = 1;
	const struct syn *first = n;
	while (is_sum(first)) {
		first = first->kids[0];
		len++;
	}
	if (!limit_check_terms(&mc->lim, len))
		return NULL;
	/* short sums (most: W x - y) keep the chain on the stack (a few words:
	 * resolve recurses as deep as the text nests) */
	const struct syn *chain_small[4];
	const struct syn **chain =
	    len <= 4 ? chain_small : mc_xmalloc((size_t)len * sizeof *chain);
	long k = len;
	for (const struct syn *c = n; is_sum(c); c = c->kids[0])
		chain[--k] = c;
	struct expr *acc = resolve(s, first);
	/* the sum so far lives in sum while it can (linear time); acc is then
	 * stale, and is made from sum when a step needs expr_make2 */
	struct expr_sum *sum = NULL;
	if (len >= 8) {
		/* a short sum is cheaper built by make_add alone */
		sum = expr_sum_new(mc);
		expr_sum_load(sum, acc);
	}
	for (long i = 1; i < len && acc; i++) {
		const struct syn *c = chain[i];
		struct expr *b = resolve(s, c->kids[1]);
		if (!b) {
			acc = NULL;
			break;
		}
		if (c->op == SOP_SUB)
			b = expr_make2(mc, OP_MUL, expr_num(mc, -1), b, true);
		if (sum && expr_sum_add(sum, b))
			continue;
		struct expr *now = sum ? expr_sum_get(sum) : NULL;
		if (now)
			acc = now;
		struct expr *r = b ? expr_make2(mc, OP_ADD, acc, b, true) : NULL;
		if (!r) {
			mc_set_loc(mc, c->loc);
			explain_default(s, acc, b);
		}
		acc = r;
		if (sum)
			expr_sum_load(sum, acc);
	}
	if (acc && sum) {
		struct expr *now = expr_sum_get(sum);
		if (now)
			acc = now;
	}
	expr_sum_free(sum);
	if (chain != chain_small)
		free(chain);
	return acc;
}

static struct expr *resolve_op(struct session *s, const struct syn *n)
{
	struct mc *mc = s->mc;
	if (is_sum(n))
		return resolve_sum(s, n);
	struct expr *a = resolve(s, n->kids[0]);
	if (!a)
		return NULL;
	struct expr *b = NULL;
	if (n->n > 1) {
		b = resolve(s, n->kids[1]);
		if (!b)
			return NULL;
	}
	struct expr *r = NULL;
	switch ((enum syn_op)n->op) {
	case SOP_ADD:
		r = expr_make2(mc, OP_ADD, a, b, true);
		break;
	case SOP_SUB: {
		struct expr *nb = expr_make2(mc, OP_MUL, expr_num(mc, -1), b, true);
		r = nb ? expr_make2(mc, OP_ADD, a, nb, true) : NULL;
		break;
	}
	case SOP_NEG:
		r = expr_make2(mc, OP_MUL, expr_num(mc, -1), a, true);
		break;
	case SOP_MUL:
		r = expr_make2(mc, OP_MUL, a, b, true);
		break;
	case SOP_DIV:
		if (b->op == OP_ZERO) {
			fail_at(s, n->kids[1], MC_ERR_SHAPE, "division by zero");
			return NULL;
		}
		if (!expr_is_scalar(mc, b)) {
			char sh[128];
			expr_shape_str(mc, b, sh, sizeof sh);
			fail_at(s, n->kids[1], MC_ERR_SHAPE,
				"/ divides by a scalar, but this is %s: use inv(...) or ./", sh);
			explain_default(s, b, NULL);
			return NULL;
		}
		if (b->op == OP_ZERO) {
			fail_at(s, n->kids[1], MC_ERR_SHAPE, "division by zero");
			return NULL;
		}
		r = expr_make1(mc, OP_INV, b, true);
		r = r ? expr_make2(mc, OP_MUL, a, r, true) : NULL;
		break;
	case SOP_HAD:
		r = expr_make2(mc, OP_HAD, a, b, true);
		break;
	case SOP_EDIV:
		r = expr_make2(mc, OP_EDIV, a, b, true);
		break;
	case SOP_KRON:
		r = expr_make2(mc, OP_KRON, a, b, true);
		break;
	case SOP_T:
		r = expr_make1(mc, OP_T, a, true);
		break;
	case SOP_INV:
		r = expr_make1(mc, OP_INV, a, true);
		break;
	case SOP_INVT:
		r = expr_make1(mc, OP_T, a, true);
		r = r ? expr_make1(mc, OP_INV, r, true) : NULL;
		break;
	case SOP_POW:
		if (b->op == OP_NUM && b->num == -1) {
			r = expr_make1(mc, OP_INV, a, true);
			break;
		}
		r = expr_make2(mc, OP_POW, a, b, true);
		break;
	case SOP_EPOW:
		/* NumPy/MATLAB's x.^2 */
		if (expr_is_scalar(mc, a)) {
			r = expr_make2(mc, OP_POW, a, b, true);
		} else if (b->op == OP_NUM && b->num == 2) {
			r = expr_make2(mc, OP_HAD, a, a, true);
		} else if (b->op == OP_NUM && b->num == 1) {
			r = a;
		} else if (b->op == OP_NUM && b->num == 0.5) {
			r = expr_make1(mc, OP_SQRT, a, true);
		} else {
			fail_at(s, n->kids[1], MC_ERR_SHAPE,
				"an entrywise power of a vector or matrix is .^2 (x ⊙ x) or .^0.5 (sqrt(x))");
			return NULL;
		}
		break;
	case SOP_LDIV:
		/* MATLAB's A \ b */
		r = expr_make1(mc, OP_INV, a, true);
		r = r ? expr_make2(mc, OP_MUL, r, b, true) : NULL;
		break;
	}
	if (!r) {
		/* a shape mismatch of two operands: a kind from the default may be why */
		if (n->op != SOP_T && n->op != SOP_INV && n->op != SOP_INVT && n->op != SOP_POW &&
		    n->op != SOP_EPOW)
			explain_default(s, a, b);
		mc_set_loc(mc, n->loc);
	}
	return r;
}

static struct expr *resolve(struct session *s, const struct syn *n)
{
	struct mc *mc = s->mc;
	switch (n->kind) {
	case SYN_IDENT:
		return resolve_ident(s, n);
	case SYN_NUM:
		return expr_num(mc, n->num);
	case SYN_MATRIX:
		return expr_matrix(mc, n->vr, n->vc, n->vals);
	case SYN_CALL:
		return resolve_call(s, n);
	case SYN_OP:
		return resolve_op(s, n);
	case SYN_BARS: {
		/* |X|: the determinant of a matrix, the absolute value of a scalar */
		struct expr *a = resolve(s, n->kids[0]);
		if (!a)
			return NULL;
		if (expr_is_scalar(mc, a))
			return expr_make1(mc, OP_ABS, a, true);
		if (a->cols >= 0 && dim_is_one(mc, a->cols)) {
			fail_at(s, n, MC_ERR_SHAPE,
				"|...| of a vector reads two ways: write ||...|| for its norm or abs(...) for "
				"its entries");
			return NULL;
		}
		struct expr *r = expr_make1(mc, OP_DET, a, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	case SYN_NORM: {
		struct expr *a = resolve(s, n->kids[0]);
		if (!a)
			return NULL;
		struct expr *r = expr_make1(mc, n->sub == 2 ? OP_NORM2 : OP_NORMF, a, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	case SYN_NABLA: {
		struct expr *x = resolve_var(s, n->kids[0], "∇");
		struct expr *f = x ? resolve(s, n->kids[1]) : NULL;
		if (!f)
			return NULL;
		if (!expr_is_scalar(mc, f)) {
			char sh[128];
			expr_shape_str(mc, f, sh, sizeof sh);
			fail_at(s, n->kids[1], MC_ERR_SHAPE,
				"grad needs a scalar function, but this is %s: use jacobian(f, x)",
				sh);
			return NULL;
		}
		struct expr *r = expr_make2(mc, OP_GRAD, f, x, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	case SYN_EQ: {
		if (n->n > 2) {
			fail_at(s, n, MC_ERR_SYNTAX,
				"a chain a = b = c is only allowed inside check(...)");
			return NULL;
		}
		struct expr *a = resolve(s, n->kids[0]);
		struct expr *b = a ? resolve(s, n->kids[1]) : NULL;
		if (!b)
			return NULL;
		struct expr *r = expr_make2(mc, OP_EQ, a, b, true);
		if (!r)
			mc_set_loc(mc, n->loc);
		return r;
	}
	default:
		fail_at(s, n, MC_ERR_SYNTAX, "not an expression");
		return NULL;
	}
}

struct expr *session_resolve(struct session *s, const struct syn *syn) { return resolve(s, syn); }

int session_resolve_dim(struct session *s, const struct syn *n) { return resolve_dim(s, n); }

bool session_is_command(const char *name) { return is_command(name); }

bool session_knows_name(void *ctx, const char *name)
{
	struct session *s = ctx;
	const struct decl *d = session_decl(s, name);
	return (d && !d->implicit) || session_def(s, name);
}
