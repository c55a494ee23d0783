/* diff.c - differentiation: the phases of rules (table, differential, simplify),
 * the read-off of gradients and Jacobians from differentials, like-term
 * collection modulo trace rotation and transposition, and factoring. */
#include "diff.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"
#include "rewrite.h"

/* ---- small helpers ---- */

struct elist {
	struct expr **v;
	int n, cap;
};

static void el_push(struct elist *l, struct expr *e)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = mc_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
	}
	l->v[l->n++] = e;
}

static struct expr *mk(struct session *s, enum expr_op op, int n, struct expr **k)
{
	if (n == 0)
		return op == OP_ADD ? expr_zero(s->mc, DIM_ANY, DIM_ANY) : expr_num(s->mc, 1);
	if (n == 1 && (op == OP_ADD || op == OP_MUL))
		return k[0];
	return expr_make(s->mc, op, n, k, false);
}

static struct expr *mk2(struct session *s, enum expr_op op, struct expr *a, struct expr *b)
{
	struct expr *k[2] = {a, b};
	return a && b ? expr_make(s->mc, op, 2, k, false) : NULL;
}

static struct expr *mk1(struct session *s, enum expr_op op, struct expr *a)
{
	return a ? expr_make(s->mc, op, 1, &a, false) : NULL;
}

/* Runs one or more sections (comma-separated) to a fixed point, recording steps. */
static struct expr *run_rules(struct session *s, const char *sections, struct expr *var,
			      struct expr *e)
{
	if (!e)
		return NULL;
	struct rewriter rw;
	rewriter_init(&rw, s, s->rules, sections, var, s->cur_steps);
	struct expr *r = rewrite_to_fixpoint(&rw, e);
	rewriter_done(&rw);
	return r;
}

static struct expr *map_kids(struct session *s, struct expr *e,
			     struct expr *(*fn)(struct session *, struct expr *))
{
	if (e->nkids == 0)
		return fn(s, e);
	struct expr **k = mc_xmalloc((size_t)e->nkids * sizeof *k);
	bool same = true;
	for (int i = 0; i < e->nkids; i++) {
		k[i] = map_kids(s, e->kids[i], fn);
		if (!k[i]) {
			free(k);
			return NULL;
		}
		same &= k[i] == e->kids[i];
	}
	struct expr *r = e;
	if (!same)
		r = e->op == OP_DIFF ? expr_diff(s->mc, k[0])
				     : expr_make(s->mc, e->op, e->nkids, k, false);
	free(k);
	return r ? fn(s, r) : NULL;
}

/* ---- canonical form: like terms modulo trace rotation and transposition ---- */

static struct expr *transpose_factor(struct session *s, struct expr *f)
{
	if (f->op == OP_T)
		return f->kids[0];
	if ((f->flags & EF_SYMMETRIC) && !(s->unsym && expr_contains(f, s->unsym)))
		return f;
	return mk1(s, OP_T, f);
}

/* The chain of non-scalar factors of a product (or the node itself). */
static void chain_of(struct session *s, struct expr *m, struct elist *scal, struct elist *chain)
{
	if (m->op == OP_MUL) {
		for (int i = 0; i < m->nkids; i++) {
			struct expr *f = m->kids[i];
			if (expr_is_scalar(s->mc, f) && !(m->kids[i]->op == OP_MUL))
				el_push(scal, f);
			else if (expr_is_scalar(s->mc, f) && chain->n == 0 && i < m->nkids - 1)
				el_push(scal, f);
			else
				el_push(chain, f);
		}
	} else {
		el_push(chain, m);
	}
}

/* The least (by expr_cmp) of the rotations of a chain and of its transpose. */
static struct expr *least_rotation(struct session *s, struct expr **v, int n, bool cyclic)
{
	/* the chain and its transpose (reversed, each factor transposed) */
	struct expr **seq[2];
	seq[0] = v;
	seq[1] = mc_xmalloc((size_t)n * sizeof *seq[1]);
	for (int i = 0; i < n; i++) {
		seq[1][i] = transpose_factor(s, v[n - 1 - i]);
		if (!seq[1][i]) {
			mc_clear_error(s->mc);
			free(seq[1]);
			return NULL;
		}
	}
	/* compare rotations factor by factor; build only the least */
	int bp = 0, bs = 0;
	for (int pass = 0; pass < 2; pass++)
		for (int start = 0; start < (cyclic ? n : 1); start++) {
			if (pass == bp && start == bs)
				continue;
			int c = 0;
			for (int i = 0; i < n && !c; i++)
				c = expr_cmp(seq[pass][(start + i) % n], seq[bp][(bs + i) % n]);
			if (c < 0) {
				bp = pass;
				bs = start;
			}
		}
	struct expr **rot = mc_xmalloc((size_t)n * sizeof *rot);
	for (int i = 0; i < n; i++)
		rot[i] = seq[bp][(bs + i) % n];
	struct expr *best = mk(s, OP_MUL, n, rot);
	if (!best)
		mc_clear_error(s->mc);
	free(rot);
	free(seq[1]);
	return best;
}

/* The key under which a term's like terms are collected. */
static struct expr *term_key(struct session *s, struct expr *t)
{
	if (t->op == OP_TR) {
		struct elist sc = {0}, ch = {0};
		chain_of(s, t->kids[0], &sc, &ch);
		struct expr *r = t;
		if (sc.n == 0 && ch.n > 0) {
			struct expr *m = least_rotation(s, ch.v, ch.n, true);
			if (m)
				r = mk1(s, OP_TR, m);
		}
		free(sc.v);
		free(ch.v);
		return r ? r : t;
	}
	if (t->op == OP_MUL && expr_is_scalar(s->mc, t)) {
		bool chain = true;
		for (int i = 0; i < t->nkids; i++)
			if (expr_is_scalar(s->mc, t->kids[i]))
				chain = false;
		if (chain) {
			struct expr *m = least_rotation(s, t->kids, t->nkids, false);
			return m ? m : t;
		}
	}
	if (t->op == OP_MUL) {
		struct expr **k = mc_xmalloc((size_t)t->nkids * sizeof *k);
		for (int i = 0; i < t->nkids; i++)
			k[i] = expr_is_scalar(s->mc, t->kids[i]) ? term_key(s, t->kids[i])
								 : t->kids[i];
		struct expr *r = mk(s, OP_MUL, t->nkids, k);
		free(k);
		if (!r)
			mc_clear_error(s->mc);
		return r ? r : t;
	}
	return t;
}

static struct expr *collect_node(struct session *s, struct expr *e)
{
	if (e->op != OP_ADD)
		return e->op == OP_HAD ? expr_sorted(s->mc, e) : e;
	struct elist keys = {0}, reps = {0};
	double *coef = mc_xmalloc((size_t)e->nkids * sizeof *coef);
	for (int i = 0; i < e->nkids; i++) {
		struct expr *t = e->kids[i];
		double c = 1;
		struct expr *rest = t;
		if (t->op == OP_MUL && t->kids[0]->op == OP_NUM) {
			c = t->kids[0]->num;
			rest = mk(s, OP_MUL, t->nkids - 1, (struct expr **)t->kids + 1);
		} else if (t->op == OP_NUM) {
			c = t->num;
			rest = expr_num(s->mc, 1);
		}
		struct expr *key = term_key(s, rest);
		int j;
		for (j = 0; j < keys.n; j++)
			if (keys.v[j] == key)
				break;
		if (j == keys.n) {
			el_push(&keys, key);
			el_push(&reps, rest);
			coef[j] = 0;
		}
		coef[j] += c;
	}
	struct elist terms = {0};
	for (int j = 0; j < keys.n; j++) {
		if (fabs(coef[j]) < 1e-15)
			continue;
		struct expr *t = expr_is_num(reps.v[j], 1)
				     ? expr_num(s->mc, coef[j])
				     : mk2(s, OP_MUL, expr_num(s->mc, coef[j]), reps.v[j]);
		if (t)
			el_push(&terms, t);
	}
	struct expr *r = mk(s, OP_ADD, terms.n, terms.v);
	free(keys.v);
	free(reps.v);
	free(terms.v);
	free(coef);
	if (!r) {
		mc_clear_error(s->mc);
		return e;
	}
	return expr_sorted(s->mc, r);
}

struct expr *diff_simplify(struct session *s, struct expr *e)
{
	if (!e || !rules_load(s))
		return NULL;
	for (int round = 0; round < 4; round++) {
		struct expr *r = run_rules(s, "simplify", NULL, e);
		if (!r)
			return NULL;
		struct expr *c = map_kids(s, r, collect_node);
		if (c)
			steps_note(s->cur_steps, SHOW_FOLD, "algebra", false, r, c);
		if (!c || c == r)
			return c; /* the rules were at a fixed point and nothing was collected */
		e = c;
	}
	return e;
}

/* ---- the read-off ---- */

static bool is_d_of(struct expr *f, struct expr *x, bool *transposed)
{
	if (f->op == OP_DIFF && f->kids[0] == x) {
		*transposed = false;
		return true;
	}
	if (f->op == OP_T && f->kids[0]->op == OP_DIFF && f->kids[0]->kids[0] == x) {
		*transposed = true;
		return true;
	}
	return false;
}

/* Splits a term c * s1 * s2 * piece into the scalar factors and the one factor
 * holding the differential. */
static bool split_term(struct session *s, struct expr *t, struct elist *scal, struct expr **piece)
{
	*piece = NULL;
	if (t->op != OP_MUL) {
		*piece = t;
		return true;
	}
	struct elist chain = {0};
	for (int i = 0; i < t->nkids; i++) {
		struct expr *f = t->kids[i];
		if (expr_is_scalar(s->mc, f))
			el_push(scal, f);
		else
			el_push(&chain, f);
	}
	if (chain.n) {
		/* a 1x1 product y^T X dθ: the run is the piece */
		struct expr *run = mk(s, OP_MUL, chain.n, chain.v);
		free(chain.v);
		if (!run)
			return false;
		if (run->flags & EF_HAS_DIFF) {
			*piece = run;
			return true;
		}
		el_push(scal, run);
	}
	for (int i = 0; i < scal->n; i++)
		if (scal->v[i]->flags & EF_HAS_DIFF) {
			if (*piece)
				return false;
			*piece = scal->v[i];
			scal->v[i] = scal->v[--scal->n];
			i--;
		}
	return *piece != NULL;
}

static bool readoff_fail(struct session *s, struct expr *t, const char *why)
{
	char *p = print_str(s->mc, t, PRINT_PLAIN);
	if (strlen(p) > 200)
		strcpy(p + 190, " ..."); /* a term of 100 KB says no more than its start */
	mc_fail(s->mc, MC_ERR_RULE,
		"cannot read the gradient off the term %s: %s (a rule in rules/differential.rules "
		"or rules/simplify.rules is missing)",
		p, why);
	free(p);
	return false;
}

/* Σ tr(A_k dX) + Σ tr(B_k dX^T)  ->  Σ A_k^T + Σ B_k */
static struct expr *readoff(struct session *s, struct expr *df, struct expr *x)
{
	struct elist terms = {0}, parts = {0};
	if (df->op == OP_ADD)
		for (int i = 0; i < df->nkids; i++)
			el_push(&terms, df->kids[i]);
	else if (df->op != OP_ZERO)
		el_push(&terms, df);
	struct expr *res = NULL;
	for (int i = 0; i < terms.n; i++) {
		struct expr *t = terms.v[i];
		struct elist scal = {0}, chain = {0};
		struct expr *piece;
		if (!(t->flags & EF_HAS_DIFF)) {
			free(scal.v);
			continue;
		}
		if (!split_term(s, t, &scal, &piece)) {
			readoff_fail(s, t, "the differential is not linear");
			free(scal.v);
			goto out;
		}
		struct expr *m = piece;
		/* tr(s M) with the d in the scalar s only (s an I of no size away from
		 * being pulled out by a rule): s tr(M) */
		while (piece->op == OP_TR && piece->kids[0]->op == OP_MUL) {
			struct expr *in = piece->kids[0], *sd = NULL;
			struct elist rest = {0};
			for (int k = 0; k < in->nkids; k++) {
				if (expr_is_scalar(s->mc, in->kids[k]) &&
				    (in->kids[k]->flags & EF_HAS_DIFF) && !sd)
					sd = in->kids[k];
				else
					el_push(&rest, in->kids[k]);
			}
			struct expr *inner = sd ? mk(s, OP_MUL, rest.n, rest.v) : NULL;
			free(rest.v);
			if (!inner || (inner->flags & EF_HAS_DIFF))
				break;
			el_push(&scal, mk1(s, OP_TR, inner));
			piece = sd;
		}
		m = piece;
		if (piece->op == OP_TR)
			m = piece->kids[0];
		else if (piece->op == OP_SUM) {
			/* sum(M) = tr(J M) with J all ones (cols(M) x rows(M)) */
			m = piece->kids[0];
			el_push(&chain, expr_ones(s->mc, m->cols, m->rows));
		} else if (!expr_is_scalar(s->mc, piece)) {
			readoff_fail(s, t, "it is not a trace");
			free(scal.v);
			goto out;
		}
		struct elist msc = {0};
		chain_of(s, m, &msc, &chain);
		for (int k = 0; k < msc.n; k++)
			el_push(&scal, msc.v[k]);
		free(msc.v);
		int at = -1;
		bool tr = false;
		for (int k = 0; k < chain.n; k++) {
			bool tk;
			if (is_d_of(chain.v[k], x, &tk)) {
				if (at >= 0)
					at = -2;
				else {
					at = k;
					tr = tk;
				}
			} else if (chain.v[k]->flags & EF_HAS_DIFF) {
				at = -2;
			}
		}
		for (int k = 0; k < scal.n; k++)
			if (scal.v[k]->flags & EF_HAS_DIFF)
				at = -2;
		if (at < 0) {
			readoff_fail(s, t,
				     at == -1 ? "no d appears in a product"
					      : "d appears inside a function or more than once");
			free(scal.v);
			free(chain.v);
			goto out;
		}
		/* rotate: tr(F1..Fk dX G1..Gl) = tr(G1..Gl F1..Fk dX) */
		struct elist rot = {0};
		for (int k = at + 1; k < chain.n; k++)
			el_push(&rot, chain.v[k]);
		for (int k = 0; k < at; k++)
			el_push(&rot, chain.v[k]);
		if (!tr && rot.n > 1) {
			/* the gradient is A^T: read off as the reversed chain of transposed
			 * factors, in one step rather than one rule application a factor */
			for (int k = 0; k < rot.n / 2; k++) {
				struct expr *sw = rot.v[k];
				rot.v[k] = rot.v[rot.n - 1 - k];
				rot.v[rot.n - 1 - k] = sw;
			}
			for (int k = 0; k < rot.n; k++)
				rot.v[k] = transpose_factor(s, rot.v[k]);
			tr = true;
		}
		struct expr *a = rot.n ? mk(s, OP_MUL, rot.n, rot.v)
				       : (expr_is_scalar(s->mc, x) ? expr_num(s->mc, 1)
								   : expr_ident(s->mc, DIM_ANY));
		free(rot.v);
		free(chain.v);
		if (a && !tr)
			a = mk1(s, OP_T, a);
		el_push(&scal, a);
		struct expr *part = a ? mk(s, OP_MUL, scal.n, scal.v) : NULL;
		free(scal.v);
		if (!part)
			goto out;
		el_push(&parts, part);
	}
	res = mk(s, OP_ADD, parts.n, parts.v);
out:
	free(terms.v);
	free(parts.v);
	return res;
}

/* ---- gradients ---- */

static struct expr *sum_as_trace(struct session *s, struct expr *e)
{
	if (e->op != OP_SUM || !(e->flags & EF_HAS_DIFF) || e->kids[0]->op == OP_HAD ||
	    expr_is_scalar(s->mc, e->kids[0]))
		return e;
	struct expr *m = e->kids[0];
	struct expr *j = expr_ones(s->mc, m->cols, m->rows);
	struct expr *r = mk1(s, OP_TR, mk2(s, OP_MUL, j, m));
	if (!r)
		mc_clear_error(s->mc);
	return r ? r : e;
}

/* Names the operator d(...) stopped at, for the "no rule" error. */
static const struct expr *find_stuck_d(const struct expr *e)
{
	if (e->op == OP_D)
		return e;
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *r = find_stuck_d(e->kids[i]);
		if (r)
			return r;
	}
	return NULL;
}

static struct expr *differential(struct session *s, struct expr *f, struct expr *x)
{
	struct expr *d = mk1(s, OP_D, f);
	if (d)
		steps_begin(s->cur_steps, f, x, d);
	struct expr *df = run_rules(s, "differential", x, d);
	if (!df)
		return NULL;
	const struct expr *stuck = find_stuck_d(df);
	if (stuck) {
		const struct expr *a = stuck->kids[0];
		const char *name = expr_op_info(a->op)->name;
		/* operators written between operands are named by their pattern */
		const char *form = a->op == OP_ADD    ? "A + B"
				   : a->op == OP_MUL  ? "A B"
				   : a->op == OP_HAD  ? "A ⊙ B"
				   : a->op == OP_EDIV ? "A ./ B"
				   : a->op == OP_KRON ? "A ⊗ B"
				   : a->op == OP_T    ? "A^T"
				   : a->op == OP_INV  ? "A^-1"
				   : a->op == OP_POW  ? "A^k"
						      : NULL;
		char *p = print_str(s->mc, a, PRINT_PLAIN);
		if (form || !name)
			mc_fail(s->mc, MC_ERR_RULE,
				"no rule for d(%s) in rules/differential.rules (stuck at d(%s))",
				form ? form : "this operator", p);
		else
			mc_fail(s->mc, MC_ERR_RULE,
				"no rule for d(%s(...)) in rules/differential.rules (stuck at d(%s))",
				name, p);
		free(p);
		return NULL;
	}
	return df;
}

static struct expr *derive_grads(struct session *s, struct expr *e);

struct expr *diff_gradient(struct session *s, struct expr *f, struct expr *x)
{
	if (!rules_load(s))
		return NULL;
	if (!expr_is_scalar(s->mc, f)) {
		char sh[64];
		expr_shape_str(s->mc, f, sh, sizeof sh);
		mc_fail(s->mc, MC_ERR_SHAPE,
			"grad needs a scalar function, but it is %s: use jacobian(f, x)", sh);
		return NULL;
	}
	struct expr *saved = s->unsym;
	s->unsym = x;
	/* f is simplified inside grad(f, X), so that --steps shows the whole expression */
	struct expr *g = diff_simplify(s, mk2(s, OP_GRAD, f, x));
	if (g && !s->no_table)
		g = run_rules(s, "gradient", x, g);
	if (g)
		g = derive_grads(s, g);
	s->unsym = saved;
	return g ? diff_simplify(s, g) : NULL;
}

/* Replaces each grad(h, X) left after the table by the general method. */
static struct expr *derive_grads(struct session *s, struct expr *e)
{
	if (!(e->flags & EF_HAS_OP))
		return e;
	if (e->op == OP_GRAD) {
		struct expr *h = e->kids[0], *x = e->kids[1];
		if (!(h->flags & EF_HAS_OP) || !expr_contains(h, x)) {
			if (!expr_contains(h, x))
				return expr_zero(s->mc, DIM_ANY, DIM_ANY);
		}
		struct expr *df = differential(s, h, x);
		if (!df)
			return NULL;
		df = run_rules(s, "simplify,readoff", x, df);
		if (df && expr_has_op(df, OP_SUM)) {
			/* sum(M) = tr(J M), J all ones: then the trace rules bring a d inside
			 * a Hadamard product out (sum((W ⊙ dW) b)) */
			struct expr *t = map_kids(s, df, sum_as_trace);
			if (t)
				steps_note(s->cur_steps, SHOW_FOLD, "algebra", false, df, t);
			df = run_rules(s, "simplify,readoff", x, t);
		}
		if (df) {
			struct expr *c = map_kids(s, df, collect_node);
			if (c)
				steps_note(s->cur_steps, SHOW_FOLD, "algebra", false, df, c);
			df = c;
		}
		struct expr *g = df ? readoff(s, df, x) : NULL;
		if (g)
			steps_readoff(s->cur_steps, OP_GRAD, h, x, df, g, "read off the gradient");
		return g;
	}
	struct expr **k = mc_xmalloc((size_t)e->nkids * sizeof *k);
	for (int i = 0; i < e->nkids; i++) {
		k[i] = derive_grads(s, e->kids[i]);
		if (!k[i]) {
			free(k);
			return NULL;
		}
	}
	struct expr *r = expr_make(s->mc, e->op, e->nkids, k, false);
	free(k);
	return r;
}

/* ---- Jacobians and Hessians ---- */

/* The gradient g of a scalar p linear in dx (p = g^T dx), read off as grad does. */
static struct expr *scalar_gradient(struct session *s, struct expr *p, struct expr *x)
{
	p = run_rules(s, "simplify,readoff", x, p);
	if (p)
		p = map_kids(s, p, collect_node);
	struct expr *g = p ? readoff(s, p, x) : NULL;
	/* tr(dX): the gradient I has the size of X (vec(I) needs it) */
	if (g && g->op == OP_IDENT && g->rows < 0)
		g = expr_ident(s->mc, x->rows);
	return g;
}

/* The Jacobian contribution of one term of dF (F a column vector). */
static struct expr *jac_term(struct session *s, struct expr *t, struct expr *x)
{
	struct elist scal = {0};
	struct expr *piece = NULL, *res = NULL;
	double coef = 1;
	if (t->op == OP_MUL && t->kids[0]->op == OP_NUM) {
		coef = t->kids[0]->num;
		t = mk(s, OP_MUL, t->nkids - 1, (struct expr **)t->kids + 1);
	}
	if (t->op == OP_HAD) {
		/* P ⊙ Q with dx in Q: diag(P) J(Q) */
		struct elist p = {0};
		struct expr *q = NULL;
		for (int i = 0; i < t->nkids; i++) {
			if (t->kids[i]->flags & EF_HAS_DIFF) {
				if (q) {
					free(p.v);
					goto bad;
				}
				q = t->kids[i];
			} else {
				el_push(&p, t->kids[i]);
			}
		}
		struct expr *jq = q ? jac_term(s, q, x) : NULL;
		struct expr *pp = mk(s, OP_HAD, p.n, p.v);
		free(p.v);
		res = jq && pp ? mk2(s, OP_MUL, mk1(s, OP_DIAG, pp), jq) : NULL;
		goto scale;
	}
	struct elist chain = {0};
	if (t->op == OP_MUL) {
		for (int i = 0; i < t->nkids; i++) {
			struct expr *f = t->kids[i];
			if (expr_is_scalar(s->mc, f) && !(f->flags & EF_HAS_DIFF))
				el_push(&scal, f);
			else if (expr_is_scalar(s->mc, f))
				piece = f; /* (a^T dx): a scalar run holding dx */
			else
				el_push(&chain, f);
		}
	} else {
		el_push(&chain, t);
	}
	bool tr;
	if (piece) {
		/* s C with the d in the scalar s = g^T dx (its gradient g read off as
		 * for grad): the term is C g^T dx */
		struct expr *g = scalar_gradient(s, piece, x);
		if (!g) {
			free(chain.v);
			free(scal.v);
			return NULL;
		}
		el_push(&chain, mk1(s, OP_T, g));
		res = mk(s, OP_MUL, chain.n, chain.v);
	} else if (chain.n && is_d_of(chain.v[chain.n - 1], x, &tr) && !tr) {
		res =
		    chain.n == 1 ? expr_ident(s->mc, DIM_ANY) : mk(s, OP_MUL, chain.n - 1, chain.v);
	} else if (chain.n >= 1 && chain.v[chain.n - 1]->op == OP_HAD) {
		/* P (H ⊙ Q): P diag(H) J(Q), through the Hadamard case above */
		struct expr *jh = jac_term(s, chain.v[chain.n - 1], x);
		res = jh && chain.n > 1 ? mk2(s, OP_MUL, mk(s, OP_MUL, chain.n - 1, chain.v), jh)
					: jh;
	} else {
		free(chain.v);
		goto bad;
	}
	free(chain.v);
scale:
	if (!res) {
		free(scal.v);
		return NULL;
	}
	el_push(&scal, res);
	if (coef != 1)
		el_push(&scal, expr_num(s->mc, coef));
	res = mk(s, OP_MUL, scal.n, scal.v);
	free(scal.v);
	return res;
bad:
	free(scal.v);
	{
		char *p = print_str(s->mc, t, PRINT_PLAIN);
		mc_fail(s->mc, MC_ERR_RULE, "cannot read the Jacobian off the term %s", p);
		free(p);
	}
	return NULL;
}

/* The Jacobian of F in x; for --steps, it is the what (OP_JAC, or OP_HESS) of fn. */
static struct expr *jacobian(struct session *s, struct expr *F, struct expr *x, enum expr_op what,
			     struct expr *fn)
{
	struct expr *dF = differential(s, F, x);
	if (!dF)
		return NULL;
	dF = run_rules(s, "simplify,readoff", x, dF);
	if (dF) {
		struct expr *c = map_kids(s, dF, collect_node);
		if (c)
			steps_note(s->cur_steps, SHOW_FOLD, "algebra", false, dF, c);
		dF = c;
	}
	if (!dF)
		return NULL;
	struct elist parts = {0};
	int n = dF->op == OP_ADD ? dF->nkids : 1;
	for (int i = 0; i < n; i++) {
		struct expr *t = dF->op == OP_ADD ? dF->kids[i] : dF;
		if (t->op == OP_ZERO)
			continue;
		struct expr *j = jac_term(s, t, x);
		if (!j) {
			free(parts.v);
			return NULL;
		}
		el_push(&parts, j);
	}
	struct expr *J = mk(s, OP_ADD, parts.n, parts.v);
	free(parts.v);
	if (J)
		steps_readoff(s->cur_steps, what, fn, x, dF, J,
			      what == OP_HESS ? "read off the Hessian" : "read off the Jacobian");
	return J ? diff_simplify(s, J) : NULL;
}

static struct expr *vj_fail(struct session *s, struct expr *t)
{
	char *p = print_str(s->mc, t, PRINT_PLAIN);
	if (strlen(p) > 200)
		strcpy(p + 190, " ...");
	mc_fail(s->mc, MC_ERR_RULE, "cannot read the Jacobian off the term %s", p);
	free(p);
	return NULL;
}

/* The Jacobian d vec(t) / d vec(X)^T of one term t of a differential, with
 * d vec(A H B) = (B^T ⊗ A) d vec(H) (MC (520)), vec(dX^T) = K(m, n) vec(dX) for X
 * m x n, vec(P ⊙ H) = diag(vec(P)) vec(H), and s C with the d in a scalar s =
 * tr(G^T dX): vec(C) vec(G)^T. */
static struct expr *vj_term(struct session *s, struct expr *t, struct expr *x, int frows)
{
	double coef = 1;
	if (t->op == OP_MUL && t->kids[0]->op == OP_NUM) {
		coef = t->kids[0]->num;
		t = mk(s, OP_MUL, t->nkids - 1, (struct expr **)t->kids + 1);
		if (!t)
			return NULL;
	}
	struct expr *res = NULL;
	struct elist scal = {0}, chain = {0};
	struct expr *piece = NULL;
	bool tr;
	if (is_d_of(t, x, &tr)) {
		/* (an I of no size: its size n m has no name to print) */
		res = tr ? expr_comm(s->mc, x->rows, x->cols) : expr_ident(s->mc, DIM_ANY);
	} else if (t->op == OP_VEC) {
		res = vj_term(s, t->kids[0], x, DIM_ANY);
	} else if (t->op == OP_DIAG) {
		/* diag(Q) = (Q ⊙ I) 1 for Q n x n: vec of it is (1^T ⊗ I) diag(vec(I)) vec(Q);
		 * diag(q) = I ⊙ (q 1^T) for q n x 1: diag(vec(I)) (1 ⊗ I) q (MC (520)) */
		struct expr *q = t->kids[0];
		struct expr *jq = vj_term(s, q, x, DIM_ANY);
		int n = q->rows;
		struct expr *sel = mk1(s, OP_DIAG, mk1(s, OP_VEC, expr_ident(s->mc, n)));
		bool vec = expr_is_vector(s->mc, q);
		struct expr *k = mk2(s, OP_KRON,
				     vec ? expr_ones(s->mc, n, s->mc->dim_one)
					 : expr_ones(s->mc, s->mc->dim_one, n),
				     expr_ident(s->mc, n));
		struct expr *S = vec ? mk2(s, OP_MUL, sel, k) : mk2(s, OP_MUL, k, sel);
		res = jq && S ? mk2(s, OP_MUL, S, jq) : NULL;
	} else if (t->op == OP_HAD) {
		struct elist p = {0};
		struct expr *q = NULL;
		for (int i = 0; i < t->nkids; i++) {
			if (!(t->kids[i]->flags & EF_HAS_DIFF))
				el_push(&p, t->kids[i]);
			else if (!q)
				q = t->kids[i];
			else
				q = t; /* d in two operands: not linear */
		}
		struct expr *pp = q && q != t ? mk(s, OP_HAD, p.n, p.v) : NULL;
		free(p.v);
		if (!pp)
			return vj_fail(s, t);
		struct expr *jq = vj_term(s, q, x, DIM_ANY);
		res = jq ? mk2(s, OP_MUL, mk1(s, OP_DIAG, mk1(s, OP_VEC, pp)), jq) : NULL;
	} else if (t->op == OP_MUL) {
		for (int i = 0; i < t->nkids; i++) {
			struct expr *f = t->kids[i];
			if (expr_is_scalar(s->mc, f) && (f->flags & EF_HAS_DIFF) && !piece)
				piece = f;
			else if (expr_is_scalar(s->mc, f) && !(f->flags & EF_HAS_DIFF))
				el_push(&scal, f);
			else
				el_push(&chain, f);
		}
		int at = -1, nd = 0;
		for (int k = 0; k < chain.n; k++)
			if (chain.v[k]->flags & EF_HAS_DIFF) {
				at = k;
				nd++;
			}
		if (piece && nd == 0) {
			struct expr *g = scalar_gradient(s, piece, x);
			struct expr *c = chain.n ? mk(s, OP_MUL, chain.n, chain.v) : NULL;
			if (c && c->op == OP_IDENT && c->rows < 0) /* vec(I) needs I's size */
				c = expr_ident(s->mc, frows);
			struct expr *vg = g ? mk1(s, OP_T, mk1(s, OP_VEC, g)) : NULL;
			res = !vg ? NULL : c ? mk2(s, OP_MUL, mk1(s, OP_VEC, c), vg) : vg;
		} else if (!piece && nd == 1) {
			/* an I beside the Kronecker product has the size of the d's side
			 * (inside ⊗ nothing else tells it) */
			struct expr *h = chain.v[at];
			struct expr *jh = vj_term(s, h, x, DIM_ANY);
			struct expr *a = at ? mk(s, OP_MUL, at, chain.v) : expr_ident(s->mc, h->rows);
			struct expr *b = at + 1 < chain.n
					     ? mk(s, OP_MUL, chain.n - at - 1, chain.v + at + 1)
					     : expr_ident(s->mc, h->cols);
			if (jh && a->op == OP_IDENT && b->op == OP_IDENT)
				res = jh; /* I ⊗ I = I */
			else
				res = jh ? mk2(s, OP_MUL, mk2(s, OP_KRON, mk1(s, OP_T, b), a), jh)
					 : NULL;
		} else {
			free(scal.v);
			free(chain.v);
			return vj_fail(s, t);
		}
	} else if (expr_is_scalar(s->mc, t)) {
		struct expr *g = scalar_gradient(s, t, x);
		res = g ? mk1(s, OP_T, mk1(s, OP_VEC, g)) : NULL;
	} else {
		return vj_fail(s, t);
	}
	free(chain.v);
	if (!res) {
		free(scal.v);
		return NULL;
	}
	if (coef != 1)
		el_push(&scal, expr_num(s->mc, coef));
	el_push(&scal, res);
	res = mk(s, OP_MUL, scal.n, scal.v);
	free(scal.v);
	return res;
}

/* d vec(F) / d vec(X)^T for a matrix (or vector) F or X, read off dF term by
 * term (vj_term); the Hessian w.r.t. a matrix is this of the gradient. */
static struct expr *vec_jacobian(struct session *s, struct expr *F, struct expr *x,
				 enum expr_op what, struct expr *fn)
{
	struct expr *dF = differential(s, F, x);
	if (!dF)
		return NULL;
	dF = run_rules(s, "simplify,readoff", x, dF);
	if (dF) {
		struct expr *c = map_kids(s, dF, collect_node);
		if (c)
			steps_note(s->cur_steps, SHOW_FOLD, "algebra", false, dF, c);
		dF = c;
	}
	if (!dF)
		return NULL;
	struct elist parts = {0};
	int n = dF->op == OP_ADD ? dF->nkids : 1;
	for (int i = 0; i < n; i++) {
		struct expr *t = dF->op == OP_ADD ? dF->kids[i] : dF;
		if (!(t->flags & EF_HAS_DIFF))
			continue;
		struct expr *j = vj_term(s, t, x, F->rows >= 0 ? F->rows : x->rows);
		if (!j) {
			free(parts.v);
			return NULL;
		}
		el_push(&parts, j);
	}
	struct expr *J = parts.n ? mk(s, OP_ADD, parts.n, parts.v)
				 : expr_zero(s->mc, dim_product(s->mc, F->rows, F->cols),
					     dim_product(s->mc, x->rows, x->cols));
	free(parts.v);
	if (J)
		steps_readoff(s->cur_steps, what, fn, x, dF, J,
			      what == OP_HESS ? "read off the Hessian, MC (520)"
					      : "read off the Jacobian, MC (520)");
	return J ? diff_simplify(s, J) : NULL;
}

/* ---- working out a whole expression ---- */

static struct expr *derive(struct session *s, struct expr *e)
{
	if (!(e->flags & EF_HAS_OP))
		return e;
	struct expr **k = mc_xmalloc((size_t)e->nkids * sizeof *k);
	for (int i = 0; i < e->nkids; i++) {
		k[i] = derive(s, e->kids[i]);
		if (!k[i]) {
			free(k);
			return NULL;
		}
	}
	struct expr *f = e->nkids ? k[0] : NULL, *x = e->nkids > 1 ? k[1] : NULL;
	struct expr *r;
	switch (e->op) {
	case OP_GRAD:
		r = diff_gradient(s, f, x);
		break;
	case OP_HESS: {
		struct expr *saved = s->unsym;
		s->unsym = x;
		struct expr *g = diff_gradient(s, f, x);
		if (!g)
			r = NULL;
		else if (expr_is_vector(s->mc, x) || expr_is_scalar(s->mc, x))
			r = jacobian(s, g, x, OP_HESS, f);
		else
			r = vec_jacobian(s, g, x, OP_HESS, f);
		s->unsym = saved;
		break;
	}
	case OP_JAC: {
		/* a scalar function's Jacobian is its gradient as a row (vec of it for a
		 * matrix); a matrix function's, or one in a matrix, is d vec(F) / d vec(X)^T,
		 * unconstrained as the gradient is (a symmetric X is not used as such) */
		struct expr *saved = s->unsym;
		s->unsym = x;
		if (expr_is_scalar(s->mc, f) && !expr_is_scalar(s->mc, x))
			r = mk1(s, OP_T,
				expr_is_vector(s->mc, x) ? diff_gradient(s, f, x)
							 : mk1(s, OP_VEC, diff_gradient(s, f, x)));
		else if (dim_is_one(s->mc, f->cols) && dim_is_one(s->mc, x->cols))
			r = jacobian(s, diff_simplify(s, f), x, OP_JAC, f);
		else
			r = vec_jacobian(s, diff_simplify(s, f), x, OP_JAC, f);
		s->unsym = saved;
		break;
	}
	case OP_D: {
		if (x) { /* d(f, X): in X alone */
			r = differential(s, diff_simplify(s, f), x);
			r = r ? diff_simplify(s, r) : NULL;
			break;
		}
		/* the differential with respect to every symbol of f: take them one by one */
		struct expr *sum = expr_zero(s->mc, DIM_ANY, DIM_ANY);
		struct elist syms = {0};
		/* collect the symbols of f in first-seen order */
		struct elist todo = {0};
		el_push(&todo, f);
		while (todo.n) {
			struct expr *n = todo.v[--todo.n];
			if (n->op == OP_SYM) {
				bool seen = false;
				for (int i = 0; i < syms.n; i++)
					seen |= syms.v[i] == n;
				if (!seen)
					el_push(&syms, n);
			}
			for (int i = n->nkids - 1; i >= 0; i--)
				el_push(&todo, n->kids[i]);
		}
		free(todo.v);
		for (int i = 0; i < syms.n && sum; i++) {
			struct expr *part = differential(s, diff_simplify(s, f), syms.v[i]);
			sum = part ? mk2(s, OP_ADD, sum, part) : NULL;
		}
		free(syms.v);
		r = sum ? diff_simplify(s, sum) : NULL;
		break;
	}
	default:
		r = expr_make(s->mc, e->op, e->nkids, k, false);
		break;
	}
	free(k);
	return r;
}

/* ---- the shorter of the expanded and a factored form ---- */

/* A term as coefficient times factors (the factors of a product, or the term). */
struct fterm {
	double c;
	struct expr **f;
	int n;
	enum expr_op op; /* OP_MUL: a chain (ordered); OP_HAD: entrywise operands */
};

static void fterm_of(struct expr *t, struct fterm *ft, struct expr **solo)
{
	ft->c = 1;
	ft->op = OP_MUL;
	if (t->op == OP_MUL && t->nkids == 2 && t->kids[0]->op == OP_NUM &&
	    t->kids[1]->op == OP_HAD) {
		ft->c = t->kids[0]->num;
		t = t->kids[1];
	}
	if (t->op == OP_HAD) {
		ft->op = OP_HAD;
		ft->f = t->kids;
		ft->n = t->nkids;
	} else if (t->op == OP_MUL) {
		int from = t->kids[0]->op == OP_NUM;
		if (from)
			ft->c = t->kids[0]->num;
		ft->f = t->kids + from;
		ft->n = t->nkids - from;
	} else if (t->op == OP_NUM) {
		ft->c = t->num;
		ft->f = NULL;
		ft->n = 0;
	} else {
		solo[0] = t;
		ft->f = solo;
		ft->n = 1;
	}
}

/* Equal factors: the same node, or the same operator over the same operands
 * (a sum built twice can carry another, unified, size id and hash apart). */
static bool same_factor(const struct expr *a, const struct expr *b)
{
	if (a == b)
		return true;
	if (a->op != b->op || a->nkids != b->nkids || a->nkids == 0 || a->name != b->name ||
	    a->num != b->num)
		return false;
	for (int i = 0; i < a->nkids; i++)
		if (a->kids[i] != b->kids[i])
			return false;
	return true;
}

static bool negative_term(const struct expr *t)
{
	return t->op == OP_MUL && t->kids[0]->op == OP_NUM && t->kids[0]->num < 0;
}

/* The sum or its negation, whichever is first in the canonical order, and the
 * sign: so that (μ^T - x^T) and (x^T - μ^T) become one factor. */
static struct expr *canonical_sign(struct session *s, struct expr *sum, double *sign)
{
	*sign = 1;
	if (!sum || sum->op != OP_ADD)
		return sum;
	struct expr **k = mc_xmalloc((size_t)sum->nkids * sizeof *k);
	bool spos = false, npos = false, built = true;
	for (int i = 0; i < sum->nkids; i++) {
		k[i] = mk2(s, OP_MUL, expr_num(s->mc, -1), sum->kids[i]);
		built &= k[i] != NULL;
		spos |= !negative_term(sum->kids[i]);
		npos |= k[i] && !negative_term(k[i]);
	}
	if (built && spos && !npos) {
		/* a positive term, and every negated one negative: the sum stays (the
		 * verdict below, without building and sorting the negated sum) */
		free(k);
		return sum;
	}
	struct expr *neg = mk(s, OP_ADD, sum->nkids, k);
	free(k);
	if (neg && neg->op == OP_ADD) {
		neg = expr_sorted(s->mc, neg);
		/* a sum of negative terms is negated; else the first in the order */
		npos = spos = false;
		for (int i = 0; i < sum->nkids; i++) {
			spos |= !negative_term(sum->kids[i]);
			npos |= !negative_term(neg->kids[i]);
		}
		if (npos != spos ? npos : expr_cmp(neg, sum) < 0) {
			*sign = -1;
			return neg;
		}
	}
	if (!neg)
		mc_clear_error(s->mc);
	return sum;
}

static struct expr *fterm_build(struct session *s, double c, struct expr **f, int n,
				struct expr *shape)
{
	struct expr *body = n ? mk(s, OP_MUL, n, f)
			      : (expr_is_scalar(s->mc, shape) ? expr_num(s->mc, 1)
							      : expr_ident(s->mc, DIM_ANY));
	if (!body || c == 1)
		return body;
	return mk2(s, OP_MUL, expr_num(s->mc, c), body);
}

/* One factoring search (prefer_shorter): the session and the results of
 * factor_terms so far. The same terms come up again and again (grouping by the
 * first factor and then the last reaches the inner sum the last-then-first way
 * too; the look-ahead factors what it will factor again), and a result
 * depends only on the terms, their order and, through the depth limits, the
 * depth: so each is searched once for the depths that give one result. */
/* An index of a search's memo entries by hash (open addressing): the
 * entries with hash h are those hidx_next returns from *at = 0 on. */
struct hidx {
	struct hslot {
		uint32_t h;
		int e; /* entry index + 1; 0: empty */
	} *v;
	size_t cap, n;
};

static int hidx_next(const struct hidx *x, uint32_t h, size_t *at)
{
	if (!x->cap)
		return -1;
	size_t i = *at ? *at : (h & (x->cap - 1)) + 1;
	for (;; i = (i & (x->cap - 1)) + 1) {
		const struct hslot *sl = &x->v[i - 1];
		if (!sl->e)
			return -1;
		if (sl->h == h) {
			*at = (i & (x->cap - 1)) + 1;
			return sl->e - 1;
		}
	}
}

static void hidx_add(struct hidx *x, uint32_t h, int e)
{
	if (2 * (x->n + 1) > x->cap) {
		struct hidx g = {mc_xcalloc(x->cap ? 2 * x->cap : 32, sizeof *g.v),
				 x->cap ? 2 * x->cap : 32, 0};
		for (size_t i = 0; i < x->cap; i++)
			if (x->v[i].e)
				hidx_add(&g, x->v[i].h, x->v[i].e - 1);
		free(x->v);
		*x = g;
	}
	size_t i = h & (x->cap - 1);
	while (x->v[i].e)
		i = (i + 1) & (x->cap - 1);
	x->v[i] = (struct hslot){h, e + 1};
	x->n++;
}

/* A search's memo keyed by a node and a tag: a node and a number for each. */
struct nmemo {
	struct hidx ix; /* by the key's id */
	struct nment {
		struct expr *key, *val;
		double num;
		int tag;
	} *v;
	int n, cap;
};

static const struct nment *nmemo_get(const struct nmemo *m, const struct expr *key, int tag)
{
	size_t at = 0;
	for (int i; (i = hidx_next(&m->ix, key->id, &at)) >= 0;)
		if (m->v[i].key == key && m->v[i].tag == tag)
			return &m->v[i];
	return NULL;
}

static void nmemo_put(struct nmemo *m, struct expr *key, int tag, struct expr *val, double num)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->v = mc_xrealloc(m->v, (size_t)m->cap * sizeof *m->v);
	}
	hidx_add(&m->ix, key->id, m->n);
	m->v[m->n++] = (struct nment){key, val, num, tag};
}

static void nmemo_free(struct nmemo *m)
{
	free(m->v);
	free(m->ix.v);
}

/* The most terms a search takes (a longer sum stays expanded): every sum it
 * builds has at most as many, so its arrays live on the stack. */
#define FS_MAX 16

struct fsearch {
	struct session *s;
	struct hidx iv; /* v by hash */
	struct fmemo {
		uint32_t hash;
		int n, lo, hi;	 /* the depths it holds for (struct span) */
		struct expr **t; /* owned copy of the terms */
		struct expr *r;	 /* NULL: the search failed */
	} *v;
	int nv, cap;
	/* canonical_sign of the inner sums built so far (the same sum comes out
	 * of many groupings): sum -> its canonical form and the sign */
	struct nmemo signs;
	/* a term without its first (tag 1) or last (tag 0) factor, as group builds it */
	struct nmemo rests;
	/* a term of an inner sum -> its simplified form */
	struct nmemo simple;
};

/* The depths at which a search gives the result it gave (it consults the
 * depth only against its limits): a result found at one depth is reused at
 * any other in its span. */
struct span {
	int lo, hi;
};

/* depth > limit, narrowing the span to the depths with the same answer */
static bool deeper(struct span *sp, int depth, int limit)
{
	if (depth > limit) {
		if (sp->lo < limit + 1)
			sp->lo = limit + 1;
		return true;
	}
	if (sp->hi > limit)
		sp->hi = limit;
	return false;
}

static struct expr *factor_terms(struct fsearch *fs, struct expr **t, int n, int depth,
				 struct span *parent);

/* canonical_sign through the search's memo */
static struct expr *signed_sum(struct fsearch *fs, struct expr *sum, double *sign)
{
	if (!sum || sum->op != OP_ADD)
		return canonical_sign(fs->s, sum, sign);
	const struct nment *m = nmemo_get(&fs->signs, sum, 0);
	if (m) {
		*sign = m->num;
		return m->val;
	}
	struct expr *c = canonical_sign(fs->s, sum, sign);
	nmemo_put(&fs->signs, sum, 0, c, *sign);
	return c;
}

/* diff_simplify of a term through the search's memo (the term itself when
 * that fails) */
static struct expr *simplified(struct fsearch *fs, struct expr *t)
{
	const struct nment *m = nmemo_get(&fs->simple, t, 0);
	if (m)
		return m->val;
	struct expr *c = diff_simplify(fs->s, t);
	c = c ? c : t;
	nmemo_put(&fs->simple, t, 0, c, 0);
	return c;
}

/* One sum of terms sharing a factor f (first of each when prefix, last when not):
 * f (Σ rest) or (Σ rest) f, its inner sum factored in turn. */
static struct expr *group(struct fsearch *fs, struct expr **t, int *idx, int k, struct expr *f,
			  bool prefix, int depth, struct span *sp)
{
	struct session *s = fs->s;
	struct expr *inner[FS_MAX];
	for (int j = 0; j < k; j++) {
		struct expr *one = t[idx[j]];
		const struct nment *m = nmemo_get(&fs->rests, one, prefix);
		if (m) {
			inner[j] = m->val;
			continue;
		}
		struct fterm ft;
		struct expr *solo[1];
		fterm_of(one, &ft, solo);
		inner[j] = fterm_build(s, ft.c, prefix ? ft.f + 1 : ft.f, ft.n - 1, one);
		/* q B without B is q I, not q: a scalar added to the other matrices of the
		 * sum would be broadcast (added to every entry) */
		int rr = prefix ? f->cols : one->rows, rc = prefix ? one->cols : f->rows;
		if (inner[j] && expr_is_scalar(s->mc, inner[j]) &&
		    !(dim_is_one(s->mc, rr) && dim_is_one(s->mc, rc)))
			inner[j] = mk2(s, OP_MUL, inner[j], expr_ident(s->mc, DIM_ANY));
		if (!inner[j])
			return NULL;
		nmemo_put(&fs->rests, one, prefix, inner[j], 0);
	}
	/* a sum of diagonals is the diagonal of the sum */
	bool diags = true;
	for (int j = 0; j < k; j++) {
		struct fterm ft;
		struct expr *solo[1];
		fterm_of(inner[j], &ft, solo);
		diags &= ft.n == 1 && ft.f[0]->op == OP_DIAG && expr_is_vector(s->mc, ft.f[0]->kids[0]);
	}
	struct expr *sum;
	if (diags) {
		for (int j = 0; j < k; j++) {
			struct fterm ft;
			struct expr *solo[1];
			fterm_of(inner[j], &ft, solo);
			inner[j] = fterm_build(s, ft.c, &ft.f[0]->kids[0], 1, ft.f[0]->kids[0]);
		}
		struct expr *v = factor_terms(fs, inner, k, depth + 1, sp);
		sum = v ? mk1(s, OP_DIAG, v) : NULL;
	} else {
		sum = factor_terms(fs, inner, k, depth + 1, sp);
	}
	/* one representation of the inner sum, so that equal sums are one node:
	 * its scalar terms without sums inside in their simplified form (a 1×1
	 * run cut from a chain, as x^T a from x^T a b^T, has a canonical form of
	 * its own: a^T x). A longer piece of a simplified chain is simplified
	 * already: simplifying it too changed none of the 5,266 inner terms of
	 * test_diff and test_property, and took a quarter of the search. */
	if (sum && !diags && sum->op == OP_ADD) {
		struct expr *small[FS_MAX];
		struct expr **terms = sum->nkids <= FS_MAX ? small
				      : mc_xmalloc((size_t)sum->nkids * sizeof *terms);
		for (int j = 0; j < sum->nkids; j++) {
			terms[j] = sum->kids[j];
			if (!expr_has_op(terms[j], OP_ADD) && expr_is_scalar(s->mc, terms[j]))
				terms[j] = simplified(fs, terms[j]);
		}
		struct expr *r = mk(s, OP_ADD, sum->nkids, terms);
		if (terms != small)
			free(terms);
		sum = r && r->op == OP_ADD ? expr_sorted(s->mc, r) : r;
	}
	double sign;
	sum = signed_sum(fs, sum, &sign);
	if (!sum)
		return NULL;
	struct expr *g = prefix ? mk2(s, OP_MUL, f, sum) : mk2(s, OP_MUL, sum, f);
	return sign < 0 ? mk2(s, OP_MUL, expr_num(s->mc, -1), g) : g;
}

/* Terms sharing an entrywise factor f (an operand of ⊙, or the whole term):
 * f ⊙ (Σ rest), the rest of a lone f being 1. */
static struct expr *group_had(struct fsearch *fs, struct expr **t, int *idx, int k,
			      struct expr *f, int depth, struct span *sp)
{
	struct session *s = fs->s;
	struct expr *inner[FS_MAX];
	for (int j = 0; j < k; j++) {
		struct fterm ft;
		struct expr *solo[1], *rest[64];
		fterm_of(t[idx[j]], &ft, solo);
		int m = 0;
		bool dropped = false;
		for (int q = 0; q < ft.n && m < 64; q++) {
			if (!dropped && same_factor(ft.f[q], f))
				dropped = true;
			else
				rest[m++] = ft.f[q];
		}
		struct expr *body = m == 0 ? expr_num(s->mc, 1) : m == 1 ? rest[0] : mk(s, OP_HAD, m, rest);
		inner[j] = body && ft.c != 1 ? mk2(s, OP_MUL, expr_num(s->mc, ft.c), body) : body;
		if (!inner[j])
			return NULL;
	}
	struct expr *sum = factor_terms(fs, inner, k, depth + 1, sp);
	double sign;
	sum = signed_sum(fs, sum, &sign);
	struct expr *g = sum ? mk2(s, OP_HAD, f, sum) : NULL;
	return g && sign < 0 ? mk2(s, OP_MUL, expr_num(s->mc, -1), g) : g;
}

/* The terms t with the group g in place of its members t[idx[0..k)] (idx
 * ascending) into out (which may be t): their number. */
static int with_group(struct expr **t, int n, const int *idx, int k, struct expr *g,
		      struct expr **out)
{
	int m = 0;
	for (int j = 0, q = 0; j < n; j++) {
		if (q < k && idx[q] == j) {
			if (q++ == 0)
				out[m++] = g;
			continue;
		}
		out[m++] = t[j];
	}
	return m;
}

/* With few terms, a grouping is judged by the best the rest then allows (one
 * step of greedy grouping can block the best one: x x^T - x μ^T - μ x^T + μ μ^T). */
static long judged_gain(struct fsearch *fs, struct expr **t, int n, int *idx, int k,
			struct expr *g, long before, int depth, struct span *sp)
{
	struct session *s = fs->s;
	long gain = before - expr_leaves(g);
	if (n > 4 || deeper(sp, depth, 3))
		return gain;
	struct expr *rest[4];
	int m = with_group(t, n, idx, k, g, rest);
	long all = 0;
	for (int j = 0; j < n; j++)
		all += expr_leaves(t[j]);
	struct expr *r = factor_terms(fs, rest, m, depth + 1, sp);
	if (!r) {
		mc_clear_error(s->mc);
		return gain;
	}
	return all - expr_leaves(r);
}

/* The best grouping so far: the greatest gain, the first of equal ones. */
struct grouping {
	long gain;
	struct expr *g;
	int *idx, k; /* the grouped terms */
};

/* Keeps the group g of the terms t[idx[0..k)] when it gains more than b's
 * (NULL: it could not be built). */
static void consider(struct fsearch *fs, struct expr **t, int n, int *idx, int k, struct expr *g,
		     long before, int depth, struct span *sp, struct grouping *b)
{
	if (!g) {
		mc_clear_error(fs->s->mc);
		return;
	}
	long gain = judged_gain(fs, t, n, idx, k, g, before, depth, sp);
	if (gain > b->gain) {
		b->gain = gain;
		b->g = g;
		memcpy(b->idx, idx, (size_t)k * sizeof *idx);
		b->k = k;
	}
}

/* Greedily groups terms by a shared first or last factor while that makes the
 * sum shorter (in leaves); the terms of what is left stay as they are. */
static struct expr *factor_search(struct fsearch *fs, struct expr **t0, int n, int depth,
				  struct span *sp)
{
	struct session *s = fs->s;
	if (n == 1 || n > FS_MAX || deeper(sp, depth, 6))
		return mk(s, OP_ADD, n, t0);
	struct expr *t[FS_MAX];
	memcpy(t, t0, (size_t)n * sizeof *t);
	int idx[FS_MAX], best_idx[FS_MAX];
	struct grouping best = {0, NULL, best_idx, 0};
	/* each term's factors, once (solo holds a term that is one factor) */
	struct fterm ft[FS_MAX];
	struct expr *solo[FS_MAX];
	for (int i = 0; i < n; i++)
		fterm_of(t[i], &ft[i], &solo[i]);
	for (int i = 0; i < n; i++)
		for (int side = 0; side < 2; side++) {
			struct fterm *fi = &ft[i];
			if (fi->op != OP_MUL || fi->n < 2)
				continue;
			struct expr *f = side == 0 ? fi->f[0] : fi->f[fi->n - 1];
			int k = 0;
			long before = 0;
			for (int j = 0; j < n; j++) {
				struct fterm *fj = &ft[j];
				if (fj->op == OP_MUL && fj->n >= 2 &&
				    same_factor(side == 0 ? fj->f[0] : fj->f[fj->n - 1], f)) {
					idx[k++] = j;
					before += expr_leaves(t[j]);
				}
			}
			if (k < 2 || idx[0] != i)
				continue;
			consider(fs, t, n, idx, k, group(fs, t, idx, k, f, side == 0, depth, sp),
				 before, depth, sp, &best);
		}
	/* entrywise: an operand of a Hadamard product shared with other terms */
	for (int i = 0; i < n; i++) {
		struct fterm *fi = &ft[i];
		if (fi->op != OP_HAD)
			continue;
		for (int q = 0; q < fi->n; q++) {
			struct expr *f = fi->f[q];
			int k = 0;
			long before = 0;
			for (int j = 0; j < n; j++) {
				struct fterm *fj = &ft[j];
				bool has = false;
				for (int r = 0; r < fj->n && !has; r++)
					has = same_factor(fj->f[r], f) && (fj->op == OP_HAD || fj->n == 1);
				if (has) {
					idx[k++] = j;
					before += expr_leaves(t[j]);
				}
			}
			if (k < 2)
				continue;
			consider(fs, t, n, idx, k, group_had(fs, t, idx, k, f, depth, sp), before,
				 depth, sp, &best);
		}
	}
	if (!best.g) {
		struct expr *r = mk(s, OP_ADD, n, t);
		return r && r->op == OP_ADD ? expr_sorted(s->mc, r) : r;
	}
	/* replace the grouped terms by the group */
	int m = with_group(t, n, best.idx, best.k, best.g, t);
	/* the rest is the search of the new terms at this depth, which the
	 * look-ahead has often made already (one level down: when its span
	 * holds this depth too, it is found in the memo) */
	struct span sub = {INT_MIN, INT_MAX};
	struct expr *r = factor_terms(fs, t, m, depth, &sub);
	if (sub.lo != INT_MIN && sp->lo < sub.lo + 1)
		sp->lo = sub.lo + 1;
	if (sub.hi != INT_MAX && sp->hi > sub.hi + 1)
		sp->hi = sub.hi + 1;
	return r;
}

static struct expr *factor_terms(struct fsearch *fs, struct expr **t, int n, int depth,
				 struct span *parent)
{
	uint32_t h = (uint32_t)n;
	for (int i = 0; i < n; i++)
		h = (h ^ t[i]->id) * 16777619u;
	struct fmemo *m = NULL;
	size_t at = 0;
	for (int i; !m && (i = hidx_next(&fs->iv, h, &at)) >= 0;) {
		struct fmemo *c = &fs->v[i];
		if (c->hash == h && c->n == n && c->lo <= depth && depth <= c->hi &&
		    memcmp(c->t, t, (size_t)n * sizeof *t) == 0)
			m = c;
	}
	if (!m) {
		struct span sp = {INT_MIN, INT_MAX};
		struct expr *r = factor_search(fs, t, n, depth, &sp);
		if (fs->nv == fs->cap) {
			fs->cap = fs->cap ? 2 * fs->cap : 16;
			fs->v = mc_xrealloc(fs->v, (size_t)fs->cap * sizeof *fs->v);
		}
		hidx_add(&fs->iv, h, fs->nv);
		m = &fs->v[fs->nv++];
		m->hash = h;
		m->n = n;
		m->lo = sp.lo;
		m->hi = sp.hi;
		m->t = mc_xmalloc((size_t)n * sizeof *t);
		memcpy(m->t, t, (size_t)n * sizeof *t);
		m->r = r;
	}
	/* the caller searches one level up: its depth is one less */
	if (parent) {
		if (m->lo != INT_MIN && parent->lo < m->lo - 1)
			parent->lo = m->lo - 1;
		if (m->hi != INT_MAX && parent->hi > m->hi - 1)
			parent->hi = m->hi - 1;
	}
	return m->r;
}

/* -P (s - x) Q is written P (x - s) Q: the sign goes into a difference. */
static struct expr *sign_into_difference(struct session *s, struct expr *t)
{
	if (t->op != OP_MUL || t->kids[0]->op != OP_NUM || t->kids[0]->num != -1)
		return t;
	for (int i = 1; i < t->nkids; i++) {
		struct expr *d = t->kids[i];
		if (d->op != OP_ADD || d->nkids != 2)
			continue;
		bool neg0 = d->kids[0]->op == OP_MUL && d->kids[0]->kids[0]->op == OP_NUM &&
			    d->kids[0]->kids[0]->num < 0;
		bool neg1 = d->kids[1]->op == OP_MUL && d->kids[1]->kids[0]->op == OP_NUM &&
			    d->kids[1]->kids[0]->num < 0;
		if (neg0 == neg1)
			continue; /* a difference only */
		struct expr *k[2], **all = mc_xmalloc((size_t)t->nkids * sizeof *all);
		for (int j = 0; j < 2; j++)
			k[j] = mk2(s, OP_MUL, expr_num(s->mc, -1), d->kids[j]);
		struct expr *nd = mk(s, OP_ADD, 2, k);
		int m = 0;
		for (int j = 1; j < t->nkids; j++)
			all[m++] = j == i ? (nd ? expr_sorted(s->mc, nd) : NULL) : t->kids[j];
		struct expr *r = nd ? mk(s, OP_MUL, m, all) : NULL;
		free(all);
		if (r)
			return r;
		mc_clear_error(s->mc);
		return t;
	}
	return t;
}

/* The factors a grouping can share, collected from one term: the factors of a
 * chain, the operands of ⊙, what diag holds (sums of diagonals merge), in turn
 * the same inside each. Coefficients are never shared (a group keeps each
 * term's), but a sign can be: the coefficients -1 are counted. */
static void shareable(struct expr *t, struct elist *atoms, long *minus_ones)
{
	if (t->op == OP_MUL || t->op == OP_HAD) {
		for (int i = 0; i < t->nkids; i++) {
			struct expr *k = t->kids[i];
			if (k->op == OP_NUM) {
				*minus_ones += k->num == -1;
				continue;
			}
			el_push(atoms, k);
			if (k->op == OP_MUL || k->op == OP_HAD || k->op == OP_DIAG)
				shareable(k, atoms, minus_ones);
		}
	} else if (t->op == OP_DIAG) {
		struct expr *k = t->kids[0];
		el_push(atoms, k);
		if (k->op == OP_MUL || k->op == OP_HAD || k->op == OP_DIAG)
			shareable(k, atoms, minus_ones);
	}
}

/* An upper bound on the leaves factoring can save in the sum e: every factor
 * written once for all the terms that share it (an occurrence in another term
 * saves at most its leaves) and the signs -1 but one (signs merge when a sum
 * of negative terms is negated as a whole, or a sign moves into a difference;
 * a sign never vanishes alone). factor_terms groups only by factors that are
 * same_factor() to one in another term, so a sum whose bound is below a
 * quarter of its leaves cannot be factored enough to be kept, and the search
 * is skipped (the bound is cheap: pointer comparisons, no node built).
 * test_diff and test_property check on every case that skipping changes no
 * result. */
static long factor_saving_bound(struct expr *e)
{
	struct elist *atoms = mc_xmalloc((size_t)e->nkids * sizeof *atoms);
	long bound = 0, minus_ones = 0;
	for (int i = 0; i < e->nkids; i++) {
		atoms[i] = (struct elist){0};
		el_push(&atoms[i], e->kids[i]);
		shareable(e->kids[i], &atoms[i], &minus_ones);
	}
	/* an occurrence saves its leaves when the factor occurs earlier too (so
	 * one occurrence of each is kept) and in some other term (or it is shared
	 * with none) */
	for (int i = 0; i < e->nkids; i++)
		for (int a = 0; a < atoms[i].n; a++) {
			bool earlier = false, elsewhere = false;
			for (int j = 0; j < e->nkids && !(earlier && elsewhere); j++)
				for (int b = 0; b < atoms[j].n; b++) {
					if (j == i && b == a)
						continue;
					if (!same_factor(atoms[i].v[a], atoms[j].v[b]))
						continue;
					earlier |= j < i || (j == i && b < a);
					elsewhere |= j != i;
				}
			if (earlier && elsewhere)
				bound += expr_leaves(atoms[i].v[a]);
		}
	for (int i = 0; i < e->nkids; i++)
		free(atoms[i].v);
	free(atoms);
	/* a sign goes only where another goes too: one -1 stays */
	return bound + (minus_ones > 0 ? minus_ones - 1 : 0);
}

/* Whether factor_terms has anything to try on the terms t: two chains with the
 * same first or last factor, or an operand of a Hadamard product that another
 * term has (the conditions of its search, without building a group). */
static bool any_grouping(struct expr **t, int n)
{
	for (int i = 0; i < n; i++) {
		struct fterm fi;
		struct expr *si[1];
		fterm_of(t[i], &fi, si);
		for (int j = i + 1; j < n; j++) {
			struct fterm fj;
			struct expr *sj[1];
			fterm_of(t[j], &fj, sj);
			if (fi.op == OP_MUL && fj.op == OP_MUL && fi.n >= 2 && fj.n >= 2 &&
			    (same_factor(fi.f[0], fj.f[0]) ||
			     same_factor(fi.f[fi.n - 1], fj.f[fj.n - 1])))
				return true;
			/* a Hadamard operand of one in the other (a lone factor or operand) */
			for (int side = 0; side < 2; side++) {
				struct fterm *h = side ? &fj : &fi, *o = side ? &fi : &fj;
				if (h->op != OP_HAD || !(o->op == OP_HAD || o->n == 1))
					continue;
				for (int q = 0; q < h->n; q++)
					for (int r = 0; r < o->n; r++)
						if (same_factor(h->f[q], o->f[r]))
							return true;
			}
		}
	}
	return false;
}

/* One search: the factored form of the sum e (NULL with an error on failure). */
static struct expr *factored(struct session *s, struct expr *e)
{
	struct fsearch fs = {.s = s};
	struct expr *f = factor_terms(&fs, e->kids, e->nkids, 0, NULL);
	for (int i = 0; i < fs.nv; i++)
		free(fs.v[i].t);
	free(fs.v);
	free(fs.iv.v);
	nmemo_free(&fs.signs);
	nmemo_free(&fs.rests);
	nmemo_free(&fs.simple);
	if (f && f->op != OP_ADD)
		f = sign_into_difference(s, f);
	return f;
}

/* The factored form of a derivative when it is much shorter (less than 3/4 of the
 * expanded form's leaves): a difference such as (x - μ) stays whole instead of
 * being multiplied out. Smaller savings keep the expanded textbook form of
 * SPEC §3 (2 X^T X θ - 2 X^T y). */
struct expr *diff_prefer_shorter(struct session *s, struct expr *e, bool exhaustive)
{
	if (!e || e->op != OP_ADD || e->nkids > FS_MAX)
		return e;
	long leaves = expr_leaves(e);
	if (!exhaustive && (!any_grouping(e->kids, e->nkids) ||
			    4 * (leaves - factor_saving_bound(e)) >= 3 * leaves))
		return e;
	struct expr *f = factored(s, e);
	if (!f) {
		mc_clear_error(s->mc);
		return e;
	}
	return 4 * expr_leaves(f) < 3 * leaves ? f : e;
}

struct expr *diff_derive_expanded(struct session *s, struct expr *e)
{
	if (!rules_load(s))
		return NULL;
	struct expr *r = derive(s, e);
	return r ? diff_simplify(s, r) : NULL;
}

struct expr *diff_derive(struct session *s, struct expr *e)
{
	struct expr *r = diff_derive_expanded(s, e);
	if (r && (e->op == OP_GRAD || e->op == OP_HESS || e->op == OP_JAC))
		r = diff_prefer_shorter(s, r, false);
	return r;
}

/* ---- factoring ---- */

static bool is_int(double c) { return c == floor(c) && fabs(c) < 1e9; }

static long gcdl(long a, long b)
{
	while (b) {
		long t = a % b;
		a = b;
		b = t;
	}
	return a < 0 ? -a : a;
}

struct expr *diff_factor(struct session *s, struct expr *e)
{
	e = diff_simplify(s, e);
	if (!e || e->op != OP_ADD)
		return e;
	int n = e->nkids;
	double *c = mc_xmalloc((size_t)n * sizeof *c);
	struct elist *f = mc_xcalloc((size_t)n, sizeof *f);
	for (int i = 0; i < n; i++) {
		struct expr *t = e->kids[i];
		c[i] = 1;
		int from = 0;
		if (t->op == OP_MUL && t->kids[0]->op == OP_NUM) {
			c[i] = t->kids[0]->num;
			from = 1;
		}
		if (t->op == OP_MUL)
			for (int k = from; k < t->nkids; k++)
				el_push(&f[i], t->kids[k]);
		else
			el_push(&f[i], t);
	}
	/* the common numeric factor */
	double g = 0;
	bool ints = true;
	for (int i = 0; i < n; i++)
		ints &= is_int(c[i]);
	if (ints) {
		long gg = 0;
		for (int i = 0; i < n; i++)
			gg = gcdl(gg, (long)c[i]);
		g = gg ? (double)gg : 1;
	} else {
		g = 1;
	}
	if (c[0] < 0)
		g = -g;
	/* common leading and trailing factors */
	int pre = 0, post = 0;
	for (;; pre++) {
		bool ok = pre < f[0].n;
		for (int i = 1; i < n && ok; i++)
			ok = pre < f[i].n && f[i].v[pre] == f[0].v[pre];
		if (!ok)
			break;
	}
	for (;; post++) {
		bool ok = post < f[0].n - pre;
		for (int i = 1; i < n && ok; i++)
			ok = post < f[i].n - pre &&
			     f[i].v[f[i].n - 1 - post] == f[0].v[f[0].n - 1 - post];
		if (!ok)
			break;
	}
	struct expr *res = e;
	if (g != 1 || pre || post) {
		struct elist inner = {0};
		for (int i = 0; i < n; i++) {
			struct elist mid = {0};
			for (int k = pre; k < f[i].n - post; k++)
				el_push(&mid, f[i].v[k]);
			struct expr *m =
			    mid.n ? mk(s, OP_MUL, mid.n, mid.v)
				  : (expr_is_scalar(s->mc, e) ? expr_num(s->mc, 1)
							      : expr_ident(s->mc, DIM_ANY));
			free(mid.v);
			if (m && c[i] / g != 1)
				m = mk2(s, OP_MUL, expr_num(s->mc, c[i] / g), m);
			if (!m)
				break;
			el_push(&inner, m);
		}
		struct expr *sum = inner.n == n ? mk(s, OP_ADD, inner.n, inner.v) : NULL;
		free(inner.v);
		if (sum) {
			sum = expr_sorted(s->mc, sum);
			struct elist all = {0};
			if (g != 1)
				el_push(&all, expr_num(s->mc, g));
			for (int k = 0; k < pre; k++)
				el_push(&all, f[0].v[k]);
			el_push(&all, sum);
			for (int k = f[0].n - post; k < f[0].n; k++)
				el_push(&all, f[0].v[k]);
			struct expr *r = mk(s, OP_MUL, all.n, all.v);
			free(all.v);
			if (r)
				res = r;
			else
				mc_clear_error(s->mc);
		} else {
			mc_clear_error(s->mc);
		}
	}
	for (int i = 0; i < n; i++)
		free(f[i].v);
	free(f);
	free(c);
	return res;
}
