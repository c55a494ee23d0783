/* test_rules_sound.c - every rule in rules/ holds on numbers: its pattern variables
 * are instantiated with symbols of compatible shapes, the engine applies the rule,
 * and both sides are compared at random values (differential and gradient rules
 * against central finite differences). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "eval.h"
#include "print.h"
#include "rewrite.h"
#include "testlib.h"
#include "value.h"

#define MAX_ASSIGN 20000 /* assignments of shapes tried per rule (sampled beyond) */
#define MAX_CASES 512	 /* applicable instances kept per rule */
#define CASES_TESTED 64	 /* of which these, spread over the list, are checked */
#define DRAWS 2		 /* random values per instance checked */
#define ATTEMPTS 8	 /* draws tried when values fall outside a domain */
#define TOL_EXACT 1e-8	 /* both sides of an algebraic identity */
#define TOL_FD 1e-6	 /* a formula against finite differences */
#define FD_H 1e-4	 /* step of the central difference (Richardson-extrapolated) */
#define MAX_LEAVES 32

/* The shapes a pattern variable is tried with, in order of preference: the
 * first applicable instance is tested, so general matrices come first and a
 * rule is not only seen on scalars. n = 3, m = 2. */
enum shape_id { SQ, NM, MN, VN, VM, MM, SC, SY, PD, RN, RM, NSHAPES };
#define NPLAIN SY /* the shapes before the symmetric ones: differentials dZ take these */
struct shape {
	const char *tag, *decl;
	bool row; /* the transpose of a vector: only a compound can be a row */
};
static const struct shape shapes[NSHAPES] = {
    {"sq", "matrix(3, 3)", false},
    {"nm", "matrix(3, 2)", false},
    {"mn", "matrix(2, 3)", false},
    {"vn", "vector(3)", false},
    {"vm", "vector(2)", false},
    {"mm", "matrix(2, 2)", false},
    {"s", "scalar", false},
    {"sy", "symmetric matrix(3, 3)", false},
    {"pd", "spd matrix(3, 3)", false},
    {"rn", "vector(3)", true},
    {"rm", "vector(2)", true},
};
/* After the symbols, compounds: an inner product x^T y (a scalar the factors of
 * a product can form), a product and a sum of two square matrices, and a trace
 * (a scalar that sorts after its powers, as norms and determinants do). */
static const char *const compounds[] = {"ip", "pr", "su", "tr"};
#define NCOMPOUNDS 4

/* An instance of a rule the engine applied. */
struct rcase {
	struct expr *lhs, *rhs, *var;
	struct expr *lhs_num; /* lhs as evaluated: with numeric identities when it has no size */
};

struct sound {
	struct tsession t;
	struct session *s;
	struct mc *mc;
	struct sbuf report; /* what went wrong, for the failure message */
	long checked;	    /* instances compared on numbers */
	double scale;	    /* of the symbols' values: small near tan's poles */
};

enum verdict { SOUND, WRONG, NOEVAL };

/* ---- setting up ---- */

static void sound_open(struct sound *c)
{
	memset(c, 0, sizeof *c);
	ts_open(&c->t);
	c->s = c->t.s;
	c->mc = c->s->mc;
	const char *dir = getenv("MATCALC_RULES");
	c->s->rules_dir = dir && *dir ? dir : MATCALC_SOURCE_ROOT "/rules";
	/* a fixed seed, so a failure reproduces; MATCALC_TEST_SEED tries others */
	const char *seed = getenv("MATCALC_TEST_SEED");
	value_seed(c->s, seed ? strtoul(seed, NULL, 10) : 20240611);
	ck_assert_msg(rules_load(c->s), "the rules do not load: %s", c->t.err);
}

static void sound_close(struct sound *c)
{
	sbuf_free(&c->report);
	ts_close(&c->t);
}

/* The symbol PREFIX<slot><tag>, declared with the shape on first use. */
static struct expr *symbol(struct sound *c, const char *prefix, int slot, int shape)
{
	char name[32];
	snprintf(name, sizeof name, "%s%d%s", prefix, slot, shapes[shape].tag);
	const struct decl *d = session_decl(c->s, name);
	if (!d) {
		char stmt[96];
		snprintf(stmt, sizeof stmt, "let %s : %s", name, shapes[shape].decl);
		ck_assert_msg(ts_run(&c->t, stmt), "%s: %s", stmt, c->t.err);
		d = session_decl(c->s, name);
		ck_assert_ptr_nonnull(d);
	}
	struct expr *e = expr_sym(c->mc, d);
	if (shapes[shape].row)
		e = expr_make1(c->mc, OP_T, e, false);
	ck_assert_ptr_nonnull(e);
	return e;
}

/* ---- walking expressions ---- */

struct nodes {
	struct expr *v[MAX_LEAVES * 4];
	int n;
};

static void nodes_add(struct nodes *ns, struct expr *e)
{
	for (int i = 0; i < ns->n; i++)
		if (ns->v[i] == e)
			return;
	ck_assert_int_lt(ns->n, (int)(sizeof ns->v / sizeof *ns->v));
	ns->v[ns->n++] = e;
}

/* Collects the nodes with operator op (not below one found). */
static void find_op(struct expr *e, enum expr_op op, struct nodes *ns)
{
	if (e->op == op) {
		nodes_add(ns, e);
		return;
	}
	for (int i = 0; i < e->nkids; i++)
		find_op(e->kids[i], op, ns);
}

/* Pattern variables of p in first-seen order. */
static void pattern_vars(const struct expr *p, const char **names, int *n)
{
	if (p->op == OP_PVAR) {
		for (int i = 0; i < *n; i++)
			if (names[i] == p->name)
				return;
		names[(*n)++] = p->name;
		return;
	}
	for (int i = 0; i < p->nkids; i++)
		pattern_vars(p->kids[i], names, n);
}

/* The pattern with its variables replaced: the engine's own construction. With
 * sized, each I of the pattern is the literal 3 x 3 identity, which the
 * constructors leave alone (I ⊗ I alone has no size to evaluate at). */
static struct expr *instantiate(struct mc *mc, struct expr *p, const char **names,
				struct expr **vals, int n, bool sized)
{
	if (p->op == OP_PVAR) {
		for (int i = 0; i < n; i++)
			if (names[i] == p->name)
				return vals[i];
		return NULL;
	}
	if (sized && p->op == OP_IDENT && p->rows < 0) {
		static const double eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
		return expr_matrix(mc, 3, 3, eye);
	}
	if (!(p->flags & EF_HAS_PVAR) && !sized)
		return p;
	struct expr *k[64];
	if (p->nkids > 64)
		return NULL;
	for (int i = 0; i < p->nkids; i++)
		if (!(k[i] = instantiate(mc, p->kids[i], names, vals, n, sized)))
			return NULL;
	if (p->nkids == 0)
		return p;
	struct expr *r = expr_make(mc, p->op, p->nkids, k, false);
	if (!r)
		mc_clear_error(mc);
	return r;
}

/* ---- values ---- */

/* Whether the values must be positive: logs, roots, log-determinants,
 * divisions, non-integer powers and tangents have domains. */
static bool needs_positive(const struct expr *e)
{
	switch (e->op) {
	case OP_LOG:
	case OP_SQRT:
	case OP_LOGDET:
	case OP_EDIV:
	case OP_TAN:
		return true;
	case OP_POW:
		if (e->kids[1]->op != OP_NUM || e->kids[1]->num != floor(e->kids[1]->num))
			return true;
		break;
	default:
		break;
	}
	for (int i = 0; i < e->nkids; i++)
		if (needs_positive(e->kids[i]))
			return true;
	return false;
}

/* Whether the values must be small: tan has poles, and log(1 - σ(A)) loses its
 * digits to cancellation where σ(A) is near 1 (finite differences then see noise). */
static bool needs_small(const struct expr *e)
{
	if (e->op == OP_TAN || (e->op == OP_LOG && expr_has_op(e->kids[0], OP_SIGMOID)))
		return true;
	for (int i = 0; i < e->nkids; i++)
		if (needs_small(e->kids[i]))
			return true;
	return false;
}

/* A random r x k value; spd as B B^T + r I, square ones shifted away from singular. */
static struct value *draw(struct sound *c, long r, long k, bool sym, bool spd, bool pos)
{
	struct value *v = value_new(r, k);
	if (spd) {
		struct value *b = value_new(r, r);
		for (long i = 0; i < r * r; i++)
			b->data[i] = pos ? value_uniform(c->s) : value_normal(c->s);
		for (long i = 0; i < r; i++)
			for (long j = 0; j < r; j++) {
				double acc = i == j ? (double)r : 0;
				for (long l = 0; l < r; l++)
					acc += b->data[l * r + i] * b->data[l * r + j];
				v->data[j * r + i] = acc;
			}
		value_free(b);
		return v;
	}
	for (long i = 0; i < r * k; i++)
		v->data[i] = pos ? 0.5 + value_uniform(c->s) : value_normal(c->s);
	if (sym)
		for (long i = 0; i < r; i++)
			for (long j = 0; j < i; j++)
				v->data[j * r + i] = v->data[i * r + j];
	if (r == k && r > 1)
		for (long i = 0; i < r; i++)
			v->data[i * r + i] += 3;
	return v;
}

static long dimv(struct sound *c, int d) { return d < 0 ? -1 : dim_value(c->mc, d); }

static struct value *draw_like(struct sound *c, const struct expr *e, bool pos)
{
	long r = dimv(c, e->rows), k = dimv(c, e->cols);
	ck_assert_msg(r > 0 && k > 0, "a leaf without a size");
	bool sym = (e->flags & EF_SYMMETRIC) != 0, spd = (e->flags & EF_SPD) != 0;
	return draw(c, r, k, sym && r == k, spd && r == k, pos);
}

static double fro(const struct value *v)
{
	double s = 0;
	for (long i = 0; i < v->rows * v->cols; i++)
		s += v->data[i] * v->data[i];
	return sqrt(s);
}

static bool finite_value(const struct value *v)
{
	for (long i = 0; i < v->rows * v->cols; i++)
		if (!isfinite(v->data[i]))
			return false;
	return true;
}

/* Values given to non-symbol nodes (dX, d(e), grad(h, X)) in one evaluation. */
struct leaves {
	const struct expr *k[MAX_LEAVES];
	struct value *v[MAX_LEAVES];
	int n;
};

static void leaves_free(struct leaves *lv)
{
	for (int i = 0; i < lv->n; i++)
		value_free(lv->v[i]);
	lv->n = 0;
}

static void leaves_add(struct leaves *lv, const struct expr *e, struct value *v)
{
	ck_assert_int_lt(lv->n, MAX_LEAVES);
	lv->k[lv->n] = e;
	lv->v[lv->n++] = v;
}

/* Evaluates e (NULL, with the error cleared, outside its domain or when not finite). */
static struct value *evaluate(struct sound *c, const struct expr *e, const struct leaves *lv,
			      long hr, long hc)
{
	struct eval_opts o;
	memset(&o, 0, sizeof o);
	o.general = true; /* finite differences step off symmetry */
	if (lv) {
		o.leaves = lv->k;
		o.leaf_values = lv->v;
		o.nleaves = lv->n;
	}
	o.hint_rows = hr > 0 ? hr : 3;
	o.hint_cols = hc > 0 ? hc : 3;
	struct value *v = eval_expr_opts(c->s, e, &o);
	if (!v) {
		mc_clear_error(c->mc);
		return NULL;
	}
	if (!finite_value(v)) {
		value_free(v);
		return NULL;
	}
	return v;
}

static struct value *evaluate_as(struct sound *c, const struct expr *e, const struct leaves *lv)
{
	return evaluate(c, e, lv, dimv(c, e->rows), dimv(c, e->cols));
}

/* f at x0 + t dir (x's value restored afterwards by the caller). */
static struct value *eval_at(struct sound *c, const struct expr *f, const struct decl *x,
			     const struct value *x0, const struct value *dir, double t,
			     const struct leaves *lv)
{
	struct value *xv = value_copy(x0);
	for (long i = 0; i < xv->rows * xv->cols; i++)
		xv->data[i] += t * dir->data[i];
	value_set(c->s, x, xv);
	return evaluate_as(c, f, lv);
}

/* The directional derivative of f at x0 along dir: central differences with
 * one Richardson step, so the error is far below TOL_FD. */
static struct value *fd_dir(struct sound *c, const struct expr *f, const struct decl *x,
			    const struct value *x0, const struct value *dir)
{
	double h = FD_H;
	struct value *p1 = eval_at(c, f, x, x0, dir, h, NULL);
	struct value *m1 = eval_at(c, f, x, x0, dir, -h, NULL);
	struct value *p2 = eval_at(c, f, x, x0, dir, h / 2, NULL);
	struct value *m2 = eval_at(c, f, x, x0, dir, -h / 2, NULL);
	value_set(c->s, x, value_copy(x0));
	struct value *r = NULL;
	if (p1 && m1 && p2 && m2) {
		r = value_new(p1->rows, p1->cols);
		for (long i = 0; i < r->rows * r->cols; i++) {
			double d1 = (p1->data[i] - m1->data[i]) / (2 * h);
			double d2 = (p2->data[i] - m2->data[i]) / h;
			r->data[i] = (4 * d2 - d1) / 3;
		}
	}
	value_free(p1);
	value_free(m1);
	value_free(p2);
	value_free(m2);
	return r;
}

/* The gradient of scalar f in x at x0, entry by entry. */
static struct value *fd_grad(struct sound *c, const struct expr *f, const struct decl *x,
			     const struct value *x0)
{
	struct value *g = value_new(x0->rows, x0->cols);
	struct value *e = value_new(x0->rows, x0->cols);
	bool ok = true;
	for (long i = 0; i < g->rows * g->cols && ok; i++) {
		e->data[i] = 1;
		struct value *d = fd_dir(c, f, x, x0, e);
		e->data[i] = 0;
		ok = d && d->rows == 1 && d->cols == 1;
		if (ok)
			g->data[i] = d->data[0];
		value_free(d);
	}
	value_free(e);
	if (!ok) {
		value_free(g);
		return NULL;
	}
	return g;
}

/* ---- checking one instance ---- */

static void show_value(struct sound *c, struct sbuf *b, const char *label, const struct value *v)
{
	sbuf_printf(b, "\n      %s ", label);
	if (v)
		value_print(c->s, b, v);
	else
		sbuf_add(b, "(no value)");
}

static void show_expr(struct sound *c, struct sbuf *b, const char *label, const struct expr *e)
{
	char *p = print_str(c->mc, e, PRINT_PLAIN);
	sbuf_printf(b, "\n      %s %s", label, p);
	free(p);
}

/* Binds random values to every symbol of the instance. */
static void bind_all(struct sound *c, const struct nodes *syms, bool pos)
{
	for (int i = 0; i < syms->n; i++) {
		struct value *v = draw_like(c, syms->v[i], pos);
		for (long j = 0; j < v->rows * v->cols; j++)
			v->data[j] *= c->scale;
		value_set(c->s, syms->v[i]->decl, v);
	}
}

/* Whether the arguments of abs, sign and relu keep away from their kink at 0,
 * where finite differences would straddle it. */
static bool off_kinks(struct sound *c, struct expr *e, const struct leaves *lv)
{
	struct nodes ks = {0};
	find_op(e, OP_ABS, &ks);
	find_op(e, OP_SIGN, &ks);
	find_op(e, OP_RELU, &ks);
	for (int i = 0; i < ks.n; i++) {
		struct value *v = evaluate_as(c, ks.v[i]->kids[0], lv);
		bool ok = v != NULL;
		for (long j = 0; ok && j < v->rows * v->cols; j++)
			ok = fabs(v->data[j]) > 0.05;
		value_free(v);
		if (!ok)
			return false;
	}
	return true;
}

/* Compares one instance at one draw of values: SOUND, WRONG (with the numbers
 * in c->report), or NOEVAL when a side has no value here. */
static enum verdict compare_once(struct sound *c, const struct rule *r, const struct rcase *k,
				 const struct nodes *syms, bool pos, struct sbuf *why)
{
	bool differential = strcmp(r->section, "differential") == 0;
	bool gradient = strcmp(r->section, "gradient") == 0;
	struct leaves lv = {0};
	struct value *L = NULL, *R = NULL, *dir = NULL;
	enum verdict res = NOEVAL;
	double tol = TOL_EXACT;
	bind_all(c, syms, pos);
	struct nodes diffs = {0}, ops = {0};
	find_op(k->lhs, OP_DIFF, &diffs);
	find_op(k->rhs, OP_DIFF, &diffs);
	if (!off_kinks(c, k->lhs_num, NULL))
		return NOEVAL;
	if (differential) {
		/* d(F) along a random direction of the variable; d(e) on the right likewise */
		tol = TOL_FD;
		const struct decl *x = k->var->decl;
		struct value *x0 = value_copy(value_of(c->s, x));
		dir = draw_like(c, k->var, false); /* symmetric for a symmetric variable */
		L = fd_dir(c, k->lhs->kids[0], x, x0, dir);
		find_op(k->rhs, OP_D, &ops);
		bool ok = L != NULL;
		for (int i = 0; i < ops.n && ok; i++) {
			struct value *v = fd_dir(c, ops.v[i]->kids[0], x, x0, dir);
			ok = v != NULL;
			if (v)
				leaves_add(&lv, ops.v[i], v);
		}
		for (int i = 0; i < diffs.n && ok; i++) {
			struct value *v = diffs.v[i]->kids[0] == k->var
					      ? value_copy(dir)
					      : value_new(dir->rows, dir->cols);
			leaves_add(&lv, diffs.v[i], v);
		}
		value_free(x0);
		if (ok)
			R = evaluate(c, k->rhs, &lv, dimv(c, k->lhs->rows), dimv(c, k->lhs->cols));
	} else if (gradient) {
		tol = TOL_FD;
		const struct decl *x = k->var->decl;
		struct value *x0 = value_copy(value_of(c->s, x));
		L = fd_grad(c, k->lhs->kids[0], x, x0);
		find_op(k->rhs, OP_GRAD, &ops);
		bool ok = L != NULL;
		for (int i = 0; i < ops.n && ok; i++) {
			ck_assert_ptr_eq(ops.v[i]->kids[1], k->var);
			struct value *v = fd_grad(c, ops.v[i]->kids[0], x, x0);
			ok = v != NULL;
			if (v)
				leaves_add(&lv, ops.v[i], v);
		}
		value_free(x0);
		if (ok)
			R = evaluate(c, k->rhs, &lv, dimv(c, k->lhs->rows), dimv(c, k->lhs->cols));
	} else {
		for (int i = 0; i < diffs.n; i++)
			leaves_add(&lv, diffs.v[i], draw_like(c, diffs.v[i], false));
		L = evaluate_as(c, k->lhs_num, &lv);
		R = L ? evaluate(c, k->rhs, &lv, L->rows, L->cols) : NULL;
	}
	if (L && R) {
		double d = INFINITY, scale = fmax(fro(L), fro(R));
		if (L->rows == R->rows && L->cols == R->cols) {
			d = 0;
			for (long i = 0; i < L->rows * L->cols; i++)
				d += (L->data[i] - R->data[i]) * (L->data[i] - R->data[i]);
			d = sqrt(d);
		}
		c->checked++;
		if (d <= tol * scale + tol * 1e-4) {
			res = SOUND;
		} else {
			res = WRONG;
			sbuf_printf(why, "\n    relative error %.3g (tolerance %g) at", d / scale,
				    tol);
			for (int i = 0; i < syms->n; i++) {
				char *p = print_str(c->mc, syms->v[i], PRINT_PLAIN);
				show_value(c, why, p, value_of(c->s, syms->v[i]->decl));
				free(p);
			}
			if (dir)
				show_value(c, why, "direction", dir);
			for (int i = 0; i < lv.n; i++) {
				char *p = print_str(c->mc, lv.k[i], PRINT_PLAIN);
				show_value(c, why, p, lv.v[i]);
				free(p);
			}
			show_value(
			    c, why,
			    differential || gradient ? "left  (finite differences)" : "left ", L);
			show_value(c, why, "right", R);
		}
	}
	value_free(L);
	value_free(R);
	value_free(dir);
	leaves_free(&lv);
	return res;
}

/* Checks one instance at DRAWS draws of values. */
static enum verdict check_case(struct sound *c, const struct rule *r, const struct rcase *k,
			       struct sbuf *why)
{
	struct nodes syms = {0};
	find_op(k->lhs, OP_SYM, &syms);
	find_op(k->rhs, OP_SYM, &syms);
	if (k->var && k->var->op == OP_SYM)
		nodes_add(&syms, k->var);
	bool pos = needs_positive(k->lhs) || needs_positive(k->rhs);
	c->scale = needs_small(k->lhs) || needs_small(k->rhs) ? 0.1 : 1;
	int good = 0;
	for (int attempt = 0; attempt < ATTEMPTS && good < DRAWS; attempt++) {
		enum verdict v = compare_once(c, r, k, &syms, pos, why);
		if (v == WRONG) {
			show_expr(c, why, "instance:", k->lhs);
			show_expr(c, why, "becomes: ", k->rhs);
			if (k->var)
				show_expr(c, why, "variable:", k->var);
			return WRONG;
		}
		if (v == SOUND)
			good++;
	}
	if (good == 0) {
		show_expr(c, why, "no value at any draw:", k->lhs);
		show_expr(c, why, "becomes:", k->rhs);
		return NOEVAL;
	}
	return SOUND;
}

/* ---- finding instances the engine applies the rule to ---- */

static bool cond_on(const struct rule *r, const char *var, const char *name)
{
	for (int i = 0; i < r->nconds; i++)
		if (!r->conds[i].negated && strcmp(r->conds[i].name, name) == 0 &&
		    r->conds[i].args[0]->op == OP_PVAR &&
		    strcmp(r->conds[i].args[0]->name, var) == 0)
			return true;
	return false;
}

struct cands {
	struct expr *v[NSHAPES + NCOMPOUNDS];
	int n;
};

/* A compound candidate of two fresh symbols. */
static struct expr *compound(struct sound *c, const char *kind, int slot)
{
	struct mc *mc = c->mc;
	struct expr *r;
	if (strcmp(kind, "ip") == 0)
		r = expr_make2(mc, OP_MUL, symbol(c, "Q", slot, RN), symbol(c, "P", slot, VN),
			       false);
	else if (strcmp(kind, "pr") == 0)
		r = expr_make2(mc, OP_MUL, symbol(c, "Q", slot, SQ), symbol(c, "R", slot, SQ),
			       false);
	else if (strcmp(kind, "su") == 0)
		r = expr_make2(mc, OP_ADD, symbol(c, "Q", slot, SQ), symbol(c, "R", slot, SQ),
			       false);
	else
		r = expr_make1(mc, OP_TR, symbol(c, "Q", slot, SQ), false);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* What a pattern variable may stand for: numbers for num/int, a differential
 * dZ for hasdiff, otherwise a symbol of each shape. */
static void candidates(struct sound *c, const struct rule *r, const char *var, int slot,
		       struct cands *cs)
{
	cs->n = 0;
	if (cond_on(r, var, "num") || cond_on(r, var, "int")) {
		cs->v[cs->n++] = expr_num(c->mc, 2);
		cs->v[cs->n++] = expr_num(c->mc, 3);
		return;
	}
	if (cond_on(r, var, "hasdiff")) {
		for (int i = 0; i < NPLAIN; i++)
			cs->v[cs->n++] = expr_diff(c->mc, symbol(c, "D", slot, i));
		/* rows: dx^T */
		for (int i = VN; i <= VM; i++)
			cs->v[cs->n++] = expr_make1(
			    c->mc, OP_T, expr_diff(c->mc, symbol(c, "D", slot, i)), false);
		return;
	}
	for (int i = 0; i < NSHAPES; i++)
		cs->v[cs->n++] = symbol(c, "P", slot, i);
	for (int i = 0; i < NCOMPOUNDS; i++)
		cs->v[cs->n++] = compound(c, compounds[i], slot);
}

struct caselist {
	struct rcase *v;
	int n;
};

/* The engine applies r at the root of lhs with var as the variable: the result, or NULL. */
static struct expr *apply(struct sound *c, const struct rule *r, struct expr *lhs, struct expr *var)
{
	struct rewriter rw;
	struct expr *saved = c->s->unsym;
	/* diff_gradient differentiates in an unconstrained X */
	c->s->unsym = strcmp(r->section, "gradient") == 0 ? var : NULL;
	rewriter_init(&rw, c->s, c->s->rules, r->section, var, NULL);
	struct expr *res = rewrite_apply(&rw, r, lhs);
	rewriter_done(&rw);
	c->s->unsym = saved;
	mc_clear_error(c->mc);
	if (res == lhs || !res)
		return NULL;
	/* the engine refuses a result of another shape */
	if (!dim_same(c->mc, res->rows, lhs->rows) || !dim_same(c->mc, res->cols, lhs->cols))
		return NULL;
	return res;
}

static void add_case(struct caselist *cl, struct expr *lhs, struct expr *rhs, struct expr *var,
		     struct expr *num)
{
	if (cl->n < MAX_CASES)
		cl->v[cl->n++] = (struct rcase){lhs, rhs, var, num};
}

/* Tries one assignment of the variables: every variable choice under which the engine applies the
 * rule. */
static void try_assignment(struct sound *c, const struct rule *r, const char **names,
			   struct expr **vals, int nv, struct caselist *cl)
{
	struct expr *lhs = instantiate(c->mc, r->lhs, names, vals, nv, false);
	if (!lhs)
		return;
	struct expr *num = lhs;
	if (lhs->rows < 0 || lhs->cols < 0)
		num = instantiate(c->mc, r->lhs, names, vals, nv, true);
	if (!num)
		return;
	if (strcmp(r->section, "differential") == 0) {
		/* each symbol of the instance as the variable, and one outside it */
		struct nodes syms = {0};
		find_op(lhs, OP_SYM, &syms);
		nodes_add(&syms, symbol(c, "W", 0, SQ));
		for (int i = 0; i < syms.n; i++) {
			struct expr *res = apply(c, r, lhs, syms.v[i]);
			if (res)
				add_case(cl, lhs, res, syms.v[i], num);
		}
	} else if (strcmp(r->section, "gradient") == 0) {
		/* X unconstrained: a symmetric X's finite differences would leave its class */
		struct expr *x = lhs->op == OP_GRAD ? lhs->kids[1] : NULL;
		if (!x || x->op != OP_SYM || (x->flags & EF_SYMMETRIC) ||
		    !expr_is_scalar(c->mc, lhs->kids[0]))
			return;
		struct expr *res = apply(c, r, lhs, x);
		if (res)
			add_case(cl, lhs, res, x, num);
	} else {
		struct nodes diffs = {0};
		find_op(lhs, OP_DIFF, &diffs);
		struct expr *var = diffs.n ? diffs.v[0]->kids[0] : NULL;
		struct expr *res = apply(c, r, lhs, var);
		if (res)
			add_case(cl, lhs, res, var, num);
	}
}

/* Every instance (up to MAX_CASES) of rule r the engine applies. */
static void find_cases(struct sound *c, const struct rule *r, struct caselist *cl)
{
	const char *names[RULE_MAX_VARS];
	int nv = 0;
	pattern_vars(r->lhs, names, &nv);
	struct cands cs[RULE_MAX_VARS];
	double total = 1;
	for (int i = 0; i < nv; i++) {
		candidates(c, r, names[i], i, &cs[i]);
		total *= cs[i].n;
	}
	struct expr *vals[RULE_MAX_VARS];
	int idx[RULE_MAX_VARS] = {0};
	if (total <= MAX_ASSIGN) {
		/* all of them, the first variable slowest */
		for (;;) {
			for (int i = 0; i < nv; i++)
				vals[i] = cs[i].v[idx[i]];
			try_assignment(c, r, names, vals, nv, cl);
			int i = nv - 1;
			while (i >= 0 && ++idx[i] == cs[i].n)
				idx[i--] = 0;
			if (i < 0)
				break;
		}
	} else {
		for (int t = 0; t < MAX_ASSIGN && cl->n < MAX_CASES; t++) {
			for (int i = 0; i < nv; i++)
				vals[i] = cs[i].v[(int)(value_uniform(c->s) * cs[i].n)];
			try_assignment(c, r, names, vals, nv, cl);
		}
	}
}

/* Checks rule r: WRONG and NOEVAL append the details to c->report. Returns the
 * verdict and the number of instances found in *found. */
static enum verdict check_rule(struct sound *c, const struct rule *r, int *found)
{
	struct caselist cl = {mc_xmalloc(MAX_CASES * sizeof *cl.v), 0};
	find_cases(c, r, &cl);
	*found = cl.n;
	enum verdict res = SOUND;
	int tested = cl.n < CASES_TESTED ? cl.n : CASES_TESTED;
	for (int i = 0; i < tested && res == SOUND; i++) {
		/* spread over the list: the first, preferred shapes, and the rest */
		const struct rcase *k = &cl.v[(long)i * cl.n / tested];
		struct sbuf why = {0};
		res = check_case(c, r, k, &why);
		if (res != SOUND)
			sbuf_printf(&c->report, "\n  %s:%d: %s: %s%s", r->file, r->line, r->text,
				    res == WRONG ? "WRONG" : "cannot be evaluated",
				    why.s ? why.s : "");
		sbuf_free(&why);
	}
	free(cl.v);
	return res;
}

/* ---- the tests ---- */

/* Every rule of rules/ holds at random instances, and every rule is covered. */
START_TEST(test_every_rule_sound)
{
	struct sound c;
	sound_open(&c);
	struct rules *rs = c.s->rules;
	ck_assert_int_gt(rs->n, 50);
	struct sbuf uncovered = {0};
	int nuncovered = 0, nwrong = 0;
	for (int i = 0; i < rs->n; i++) {
		int found;
		enum verdict v = check_rule(&c, &rs->v[i], &found);
		if (getenv("MATCALC_TEST_VERBOSE"))
			fprintf(stderr, "%4d instances  %s:%d: %s\n", found, rs->v[i].file,
				rs->v[i].line, rs->v[i].text);
		if (found == 0) {
			nuncovered++;
			sbuf_printf(&uncovered, "\n  %s:%d: %s", rs->v[i].file, rs->v[i].line,
				    rs->v[i].text);
		} else if (v != SOUND) {
			nwrong++;
		}
	}
	fprintf(stderr, "rules: %d, instances compared: %ld, wrong: %d, not instantiated: %d\n",
		rs->n, c.checked, nwrong, nuncovered);
	if (nwrong)
		fprintf(stderr, "rules that do not hold:%s\n", c.report.s);
	if (nuncovered)
		fprintf(stderr, "rules that could not be instantiated:%s\n", uncovered.s);
	int nrules = rs->n;
	long checked = c.checked;
	/* freed before the verdicts, so a failure leaks nothing under ASan */
	sbuf_free(&uncovered);
	sound_close(&c);
	ck_assert_msg(nwrong == 0, "%d rule(s) do not hold on numbers (details above)", nwrong);
	ck_assert_msg(nuncovered == 0, "%d rule(s) could not be instantiated (listed above)",
		      nuncovered);
	ck_assert_int_ge(checked, (long)nrules);
}
END_TEST

/* The checker itself: false rules of each section are caught. */
static const char wrong_rules[] =
    "[simplify]\n"
    "(A B)^T -> A^T B^T @ wrong: the order\n"
    "tr(A B C) -> tr(B A C) @ wrong: not a rotation\n"
    "det(a A) -> a det(A) if scalar(a) @ wrong: a^n\n"
    "logdet(A^-1) -> logdet(A) @ wrong: the sign\n"
    "[differential]\n"
    "d(A B) -> d(A) B @ wrong: a term missing\n"
    "d(A^-1) -> A^-1 d(A) A^-1 @ wrong: the sign\n"
    "d(tanh(A)) -> (1 - tanh(A)) ⊙ d(A) @ wrong: the square\n"
    "[gradient]\n"
    "grad(tr(X A), X) -> A if const(A, X) @ wrong: the transpose\n"
    "grad(x^T x, x) -> x @ wrong: the factor 2\n"
    "[readoff]\n"
    "sum(A ⊙ B) -> tr(A B) if nodiff(A) hasdiff(B) @ wrong: the transpose\n";

START_TEST(test_wrong_rules_caught)
{
	struct sound c;
	sound_open(&c);
	struct rules rs = {0};
	char *report = NULL;
	ck_assert_msg(
	    rules_load_text(c.s, &rs, "wrong.rules", wrong_rules, strlen(wrong_rules), &report),
	    "%s", report ? report : "?");
	ck_assert_int_eq(rs.n, 10);
	for (int i = 0; i < rs.n; i++) {
		int found;
		enum verdict v = check_rule(&c, &rs.v[i], &found);
		ck_assert_msg(found > 0, "%s: no instance", rs.v[i].text);
		ck_assert_msg(v == WRONG, "%s: not caught", rs.v[i].text);
	}
	/* the report names the rule and shows the numbers */
	ck_assert_ptr_nonnull(strstr(c.report.s, "wrong.rules:2: (A B)^T -> A^T B^T"));
	ck_assert_ptr_nonnull(strstr(c.report.s, "relative error"));
	rules_free(&rs);
	sound_close(&c);
}
END_TEST

/* A true rule outside rules/ passes, and one no instance fits is reported as such. */
START_TEST(test_checker_accepts_and_reports)
{
	struct sound c;
	sound_open(&c);
	static const char text[] =
	    "[simplify]\n"
	    "tr(A B) -> tr(B A) @ true: a rotation\n"
	    "(A B C)^T -> C^T B^T A^T @ true\n"
	    "[differential]\n"
	    "d(A B C) -> d(A) B C + A d(B) C + A B d(C) @ true\n"
	    "[gradient]\n"
	    "grad(tr(A X B X^T), X) -> A^T X B^T + A X B @ true: MC (118) with C = I\n"
	    "[simplify]\n"
	    "tr(A) -> 0 if spd(A) vector(A) @ no instance\n";
	struct rules rs = {0};
	char *report = NULL;
	ck_assert_msg(rules_load_text(c.s, &rs, "true.rules", text, strlen(text), &report), "%s",
		      report ? report : "?");
	ck_assert_int_eq(rs.n, 5);
	for (int i = 0; i < 4; i++) {
		int found;
		enum verdict v = check_rule(&c, &rs.v[i], &found);
		ck_assert_msg(found > 0 && v == SOUND, "%s: %s", rs.v[i].text,
			      c.report.s ? c.report.s : "no instance");
	}
	int found;
	check_rule(&c, &rs.v[4], &found);
	ck_assert_int_eq(found, 0);
	rules_free(&rs);
	sound_close(&c);
}
END_TEST

static Suite *rules_sound_suite(void)
{
	Suite *s = suite_create("rules_sound");
	TCase *tc = tcase_create("soundness");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_every_rule_sound);
	tcase_add_test(tc, test_wrong_rules_caught);
	tcase_add_test(tc, test_checker_accepts_and_reports);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(rules_sound_suite());
}
