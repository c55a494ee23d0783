/* rewrite.c - the rewrite engine: AC matching with backtracking, conditions,
 * building results, and running a rule section to a fixed point. */
#include "rewrite.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

/* ---- matching state ---- */

struct match {
	struct rewriter *rw;
	const struct rule *rule;
	const char *names[RULE_MAX_VARS];
	struct expr *vals[RULE_MAX_VARS]; /* NULL while only the run below is known */
	struct expr **run[RULE_MAX_VARS]; /* a run of factors a variable took, built on demand */
	int runlen[RULE_MAX_VARS];
	int n;
	/* what the root pattern left over (extension): for a product the factors
	 * before and after the matched window, for a sum or Hadamard product the
	 * operands not matched */
	struct expr **pre, **post, **rest;
	int npre, npost, nrest;
	struct expr *result;
};

typedef bool (*kont)(struct match *m, void *arg);

static struct expr *subproduct(struct match *m, struct expr **v, int n);

static int slot_of(struct match *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (m->names[i] == name)
			return i;
	return -1;
}

/* The value of a bound variable (building the product of its run the first
 * time it is needed), or NULL when unbound or the run is not a valid product. */
static struct expr *lookup(struct match *m, const char *name)
{
	int i = slot_of(m, name);
	if (i < 0)
		return NULL;
	if (!m->vals[i])
		m->vals[i] = subproduct(m, m->run[i], m->runlen[i]);
	return m->vals[i];
}

static bool bind_run_and(struct match *m, const char *name, struct expr *v, struct expr **run,
			 int len, kont k, void *arg)
{
	if (m->n == RULE_MAX_VARS)
		return false;
	m->names[m->n] = name;
	m->vals[m->n] = v;
	m->run[m->n] = run;
	m->runlen[m->n] = len;
	m->n++;
	if (k(m, arg))
		return true;
	m->n--;
	return false;
}

static bool bind_and(struct match *m, const char *name, struct expr *v, kont k, void *arg)
{
	return bind_run_and(m, name, v, NULL, 0, k, arg);
}

static bool match(struct match *m, struct expr *p, struct expr *t, kont k, void *arg);

/* A term that is a scalar spread over a matrix (c ones(r, c)): its scalar, or NULL. */
static bool broadcast_value(struct expr *t, double *c)
{
	if (t->op == OP_ONES) {
		*c = 1;
		return true;
	}
	if (t->op == OP_MUL && t->nkids == 2 && t->kids[0]->op == OP_NUM &&
	    t->kids[1]->op == OP_ONES) {
		*c = t->kids[0]->num;
		return true;
	}
	return false;
}

/* fixed-arity operands, left to right */
struct kids_frame {
	struct expr *p, *t;
	int i;
	kont k;
	void *arg;
};

static bool kids_next(struct match *m, void *arg)
{
	struct kids_frame *f = arg;
	if (f->i == f->p->nkids)
		return f->k(m, f->arg);
	struct kids_frame g = *f;
	g.i++;
	return match(m, f->p->kids[f->i], f->t->kids[f->i], kids_next, &g);
}

/* associative products: each pattern operand takes one or more factors in order */
struct seq_frame {
	struct expr **P, **T;
	int np, nt, pi, ti;
	kont k;
	void *arg;
};

static struct expr *subproduct(struct match *m, struct expr **v, int n)
{
	if (!v)
		return NULL;
	if (n == 1)
		return v[0];
	struct mc *mc = m->rw->s->mc;
	struct expr *e = expr_make(mc, OP_MUL, n, v, false);
	if (!e)
		mc_clear_error(mc);
	return e;
}

static bool seq_next(struct match *m, void *arg)
{
	struct seq_frame *f = arg;
	if (f->pi == f->np)
		return f->ti == f->nt && f->k(m, f->arg);
	int rp = f->np - f->pi, rt = f->nt - f->ti;
	if (rt < rp)
		return false;
	struct expr *p = f->P[f->pi];
	if (p->op == OP_PVAR) {
		int slot = slot_of(m, p->name);
		if (slot >= 0 && !m->vals[slot]) {
			/* bound to a run not yet built: compare the runs */
			int len = m->runlen[slot];
			if (len <= rt && m->run[slot][0] == f->T[f->ti] &&
			    memcmp(m->run[slot], f->T + f->ti, (size_t)len * sizeof *f->T) == 0) {
				struct seq_frame g = *f;
				g.pi++;
				g.ti += len;
				return seq_next(m, &g);
			}
			return false;
		}
		struct expr *v = slot >= 0 ? m->vals[slot] : NULL;
		if (v) {
			/* a bound variable stands for the same factors again */
			int len = (v->op == OP_MUL && v->kids[0]->op != OP_NUM) ? v->nkids : 1;
			if (len > 1 && len <= rt &&
			    memcmp(v->kids, f->T + f->ti, (size_t)len * sizeof *v->kids) == 0) {
				struct seq_frame g = *f;
				g.pi++;
				g.ti += len;
				if (seq_next(m, &g))
					return true;
			}
			if (f->T[f->ti] == v) {
				struct seq_frame g = *f;
				g.pi++;
				g.ti++;
				return seq_next(m, &g);
			}
			return false;
		}
		bool last = f->pi == f->np - 1;
		int minlen = last ? rt : 1, maxlen = last ? rt : rt - (rp - 1);
		/* A A: when only this variable is left to come, its runs split the rest evenly */
		int occ = 0, others = 0;
		for (int i = f->pi; i < f->np; i++) {
			if (f->P[i]->op == OP_PVAR && f->P[i]->name == p->name)
				occ++;
			else
				others++;
		}
		if (occ > 1 && others == 0) {
			if (rt % occ)
				return false;
			minlen = maxlen = rt / occ;
		}
		for (int len = minlen; len <= maxlen; len++) {
			struct seq_frame g = *f;
			g.pi++;
			g.ti += len;
			if (bind_run_and(m, p->name, len == 1 ? f->T[f->ti] : NULL, f->T + f->ti,
					 len, seq_next, &g))
				return true;
		}
		return false;
	}
	struct seq_frame g = *f;
	g.pi++;
	g.ti++;
	return match(m, p, f->T[f->ti], seq_next, &g);
}

/* commutative sums and Hadamard products: pattern operands take distinct terms.
 * used[j] marks the terms taken so far; it is shared by the frames of one
 * match and restored on backtracking (any number of terms). */
struct ac_frame {
	enum expr_op op;
	struct expr **P, **T;
	int np, nt, pi;
	unsigned char *used;
	bool root;
	kont k;
	void *arg;
};

/* The terms not taken, in order, into a buffer the caller frees (small if it fits). */
static struct expr **ac_unused(const struct ac_frame *f, struct expr **small, int nsmall, int *n)
{
	int c = 0;
	for (int j = 0; j < f->nt; j++)
		c += !f->used[j];
	struct expr **v = c <= nsmall ? small : mc_xmalloc((size_t)c * sizeof *v);
	c = 0;
	for (int j = 0; j < f->nt; j++)
		if (!f->used[j])
			v[c++] = f->T[j];
	*n = c;
	return v;
}

static bool ac_next(struct match *m, void *arg)
{
	struct ac_frame *f = arg;
	struct mc *mc = m->rw->s->mc;
	if (f->pi == f->np) {
		int left = 0;
		for (int j = 0; j < f->nt; j++)
			left += !f->used[j];
		if (left && !f->root)
			return false;
		if (f->root) {
			struct expr *small[16];
			int nr;
			struct expr **rest = ac_unused(f, small, 16, &nr);
			struct expr **saved = m->rest;
			int savedn = m->nrest;
			m->rest = rest;
			m->nrest = nr;
			bool ok = f->k(m, f->arg); /* the result is built before rest is freed */
			m->rest = saved;
			m->nrest = savedn;
			if (rest != small)
				free(rest);
			return ok;
		}
		return f->k(m, f->arg);
	}
	struct expr *p = f->P[f->pi];
	int unused = 0;
	for (int j = 0; j < f->nt; j++)
		unused += !f->used[j];
	if (unused < f->np - f->pi)
		return false;
	/* the last pattern variable of an inner sum takes all the remaining terms */
	if (!f->root && p->op == OP_PVAR && f->pi == f->np - 1 && unused > 1 &&
	    !lookup(m, p->name)) {
		struct expr *small[16];
		int nr;
		struct expr **rest = ac_unused(f, small, 16, &nr);
		struct expr *v = expr_make(mc, f->op, nr, rest, false);
		if (rest != small)
			free(rest);
		if (!v) {
			mc_clear_error(mc);
			return false;
		}
		unsigned char *mark = mc_xmalloc((size_t)f->nt);
		memset(mark, 1, (size_t)f->nt);
		struct ac_frame g = *f;
		g.pi++;
		g.used = mark;
		bool ok = bind_and(m, p->name, v, ac_next, &g);
		free(mark);
		return ok;
	}
	for (int j = 0; j < f->nt; j++) {
		if (f->used[j])
			continue;
		struct ac_frame g = *f;
		g.pi++;
		f->used[j] = 1;
		bool ok = match(m, p, f->T[j], ac_next, &g);
		f->used[j] = 0;
		if (ok)
			return true;
	}
	return false;
}

/* Matches the pattern operands P against the terms T of a sum or Hadamard product. */
static bool ac_match(struct match *m, enum expr_op op, struct expr **P, int np, struct expr **T,
		     int nt, bool root, kont k, void *arg)
{
	unsigned char small[64];
	unsigned char *used = nt <= 64 ? small : mc_xmalloc((size_t)nt);
	memset(used, 0, (size_t)nt);
	struct ac_frame f = {op, P, T, np, nt, 0, used, root, k, arg};
	bool ok = ac_next(m, &f);
	if (used != small)
		free(used);
	return ok;
}

static bool match(struct match *m, struct expr *p, struct expr *t, kont k, void *arg)
{
	if (p->op == OP_PVAR) {
		struct expr *v = lookup(m, p->name);
		if (v)
			return v == t && k(m, arg);
		return bind_and(m, p->name, t, k, arg);
	}
	if (!(p->flags & EF_HAS_PVAR) && p->op != OP_NUM)
		return (p == t || (p->op == t->op && (p->op == OP_IDENT || p->op == OP_ZERO) &&
				   p->rows < 0)) &&
		       k(m, arg);
	if (p->op == OP_NUM) {
		double c;
		if (t->op == OP_NUM && t->num == p->num)
			return k(m, arg);
		if (broadcast_value(t, &c) && c == p->num)
			return k(m, arg);
		return false;
	}
	if (p->op != t->op)
		return false;
	switch (p->op) {
	case OP_MUL: {
		struct seq_frame f = {p->kids, t->kids, p->nkids, t->nkids, 0, 0, k, arg};
		return seq_next(m, &f);
	}
	case OP_ADD:
	case OP_HAD: {
		if (t->nkids < p->nkids)
			return false;
		return ac_match(m, p->op, p->kids, p->nkids, t->kids, t->nkids, false, k, arg);
	}
	default: {
		if (p->nkids != t->nkids)
			return false;
		/* grad(tr(A X B), X): the variable first, so that the run X takes in
		 * the first operand is the variable's factor, not every run of a long
		 * product (then each tested). The same first match: binding a pattern
		 * variable to a symbol only filters what the other operands take (no
		 * run of two or more factors is a symbol). */
		if (p->nkids == 2 && p->kids[1]->op == OP_PVAR && t->kids[1]->op == OP_SYM &&
		    !lookup(m, p->kids[1]->name)) {
			struct kids_frame f = {p, t, 0, k, arg};
			return bind_and(m, p->kids[1]->name, t->kids[1], kids_next, &f);
		}
		struct kids_frame f = {p, t, 0, k, arg};
		return kids_next(m, &f);
	}
	}
}

/* ---- conditions and results ---- */

static struct expr *inst(struct match *m, struct expr *p)
{
	if (p->op == OP_PVAR)
		return lookup(m, p->name);
	if (!(p->flags & EF_HAS_PVAR))
		return p;
	/* a pattern's operands: as many as the rule file wrote */
	struct expr *small[8];
	struct expr **k = p->nkids <= 8 ? small : mc_xmalloc((size_t)p->nkids * sizeof *k);
	struct expr *r = NULL;
	struct mc *mc = m->rw->s->mc;
	for (int i = 0; i < p->nkids; i++) {
		k[i] = inst(m, p->kids[i]);
		if (!k[i])
			goto out;
	}
	r = expr_make(mc, p->op, p->nkids, k, false);
	if (!r)
		mc_clear_error(mc);
out:
	if (k != small)
		free(k);
	return r;
}

/* A factor that gives a product its rows or columns: not a number, not 1x1,
 * not of the size that fits (I). */
static bool is_matrix_factor(struct mc *mc, const struct expr *f)
{
	return f->op != OP_NUM && !expr_is_scalar(mc, f) && !(f->rows < 0 && f->cols < 0);
}

/* Whether condition c fails for its first argument, a variable bound to a run
 * of factors not yet built, whatever their product (decided on the factors):
 * trying `a A` on a product of m factors binds a to m - 1 runs, and building
 * each to test scalar(a) made one attempt O(m^2) (tr(A1 X ... Ak X)). Only
 * refutes: when in doubt the run is built and the condition tested as usual. */
static bool run_refutes(struct match *m, const struct rule_cond *c)
{
	if (c->args[0]->op != OP_PVAR || (c->kind != COND_SCALAR && c->kind != COND_CONST &&
					  c->kind != COND_NODIFF && c->kind != COND_HASDIFF))
		return false;
	int slot = slot_of(m, c->args[0]->name);
	if (slot < 0 || m->vals[slot] || !m->run[slot])
		return false;
	struct expr **v = m->run[slot];
	int n = m->runlen[slot];
	struct mc *mc = m->rw->s->mc;
	/* (no factor is 0, which would make the product 0 of any shape: make_mul
	 * makes a product with a 0 factor 0; not scanned for, as that made each
	 * attempt O(m) again) */
	if (c->kind == COND_SCALAR) {
		/* the product's rows are its first matrix factor's, its columns its
		 * last's (make_mul: scalars and I aside) */
		int first = 0, last = n - 1;
		while (first < n && !is_matrix_factor(mc, v[first]))
			first++;
		while (last > first && !is_matrix_factor(mc, v[last]))
			last--;
		return first < n &&
		       (!dim_is_one(mc, v[first]->rows) || !dim_is_one(mc, v[last]->cols));
	}
	if (c->kind == COND_NODIFF || c->kind == COND_HASDIFF) {
		bool diff = false; /* the product holds a d where a factor does */
		for (int i = 0; i < n; i++)
			diff |= (v[i]->flags & EF_HAS_DIFF) != 0;
		return c->kind == COND_NODIFF ? diff : !diff;
	}
	/* const(A, x): the product holds every factor (none is 0) */
	if (c->nargs > 1 && c->args[1]->op != OP_PVAR)
		return false;
	struct expr *x = c->nargs > 1 ? lookup(m, c->args[1]->name) : m->rw->var;
	if (c->nargs > 1 && !x)
		return false;
	for (int i = 0; i < n; i++)
		if ((v[i]->flags & EF_HAS_DIFF) || (x && expr_contains(v[i], x)))
			return true;
	return false;
}

static bool cond_holds(struct match *m, const struct rule_cond *c)
{
	struct mc *mc = m->rw->s->mc;
	struct expr *a = inst(m, c->args[0]);
	if (!a)
		return false;
	struct expr *b = c->nargs > 1 ? inst(m, c->args[1]) : NULL;
	if (c->nargs > 1 && !b)
		return false;
	bool unknown = a->rows < 0 && a->cols < 0;
	/* the unconstrained gradient in a symmetric X must not use X = X^T before it is read off */
	struct expr *u = m->rw->s->unsym;
	switch (c->kind) {
	case COND_SCALAR:
		return expr_is_scalar(mc, a);
	case COND_VECTOR:
		return dim_is_one(mc, a->cols) && !dim_is_one(mc, a->rows) && a->rows >= 0;
	case COND_MATRIX:
		return unknown || (!dim_is_one(mc, a->rows) && !dim_is_one(mc, a->cols));
	case COND_NONSCALAR:
		return !expr_is_scalar(mc, a);
	case COND_SQUARE:
		return unknown || expr_is_square(mc, a);
	case COND_SYMMETRIC:
		return (a->flags & EF_SYMMETRIC) && !(u && expr_contains(a, u));
	case COND_SPD:
		return (a->flags & EF_SPD) && !(u && expr_contains(a, u));
	case COND_CONST: {
		struct expr *x = b ? b : m->rw->var;
		return !(a->flags & EF_HAS_DIFF) && (!x || !expr_contains(a, x));
	}
	case COND_NODIFF:
		return !(a->flags & EF_HAS_DIFF);
	case COND_HASDIFF:
		return (a->flags & EF_HAS_DIFF) != 0;
	case COND_NUM:
		return a->op == OP_NUM;
	case COND_NOTNUM:
		return a->op != OP_NUM;
	case COND_INT:
		/* compared in double: a cast of 1e30 to long is undefined */
		return a->op == OP_NUM && a->num == trunc(a->num) && fabs(a->num) < 1e15;
	case COND_POS:
		return a->op == OP_NUM && a->num > 0;
	case COND_NEG:
		return a->op == OP_NUM && a->num < 0;
	case COND_DIFFVAR:
		return a == m->rw->var;
	case COND_KNOWN:
		return !unknown; /* not I or 0 of the size that fits */
	case COND_COUNT:
		break;
	}
	return false;
}

static struct expr *wrap_root(struct match *m, struct expr *r)
{
	struct mc *mc = m->rw->s->mc;
	enum expr_op op = m->rule->lhs->op;
	if (m->npre + m->npost == 0 && m->nrest == 0)
		return r;
	struct expr *small[16];
	int total = 1 + (op == OP_MUL ? m->npre + m->npost : m->nrest);
	struct expr **v = total <= 16 ? small : mc_xmalloc((size_t)total * sizeof *v);
	int n = 0;
	if (op == OP_MUL) {
		for (int i = 0; i < m->npre; i++)
			v[n++] = m->pre[i];
		v[n++] = r;
		for (int i = 0; i < m->npost; i++)
			v[n++] = m->post[i];
	} else {
		v[n++] = r;
		for (int i = 0; i < m->nrest; i++)
			v[n++] = m->rest[i];
	}
	struct expr *e = expr_make(mc, op, n, v, false);
	if (v != small)
		free(v);
	if (!e)
		mc_clear_error(mc);
	return e;
}

/* Whether condition c tests a variable whose value is at hand (a node, not a
 * run still to build): cheap to test before the others. */
static bool cond_cheap(struct match *m, const struct rule_cond *c)
{
	for (int a = 0; a < c->nargs; a++) {
		if (c->args[a]->op != OP_PVAR)
			return false;
		int slot = slot_of(m, c->args[a]->name);
		if (slot < 0 || !m->vals[slot])
			return false;
	}
	return true;
}

static bool finish(struct match *m, void *arg)
{
	(void)arg;
	/* all the conditions must hold: those decided without building a node
	 * first (scalar(A (B ⊙ C)) builds a product; hasdiff(C) reads a flag) */
	uint64_t tested = 0;
	for (int i = 0; i < m->rule->nconds && i < 64; i++) {
		const struct rule_cond *c = &m->rule->conds[i];
		if (run_refutes(m, c))
			return false;
		if (cond_cheap(m, c)) {
			if (!cond_holds(m, c))
				return false;
			tested |= (uint64_t)1 << i;
		}
	}
	for (int i = 0; i < m->rule->nconds; i++)
		if (!(i < 64 && (tested >> i & 1)) && !cond_holds(m, &m->rule->conds[i]))
			return false;
	struct expr *r = inst(m, m->rule->rhs);
	if (!r)
		return false;
	if (r->op == OP_IDENT && r->rows < 0 && m->npre + m->npost > 0 &&
	    m->rule->lhs->op == OP_MUL) {
		/* A^-1 A -> I inside a longer product: the I has the size of the run it replaces */
		const struct expr *first = m->pre[m->npre], *last = m->post[-1];
		struct mc *mc = m->rw->s->mc;
		if (first->rows >= 0 && dim_same(mc, first->rows, last->cols))
			r = expr_ident(mc, first->rows);
	}
	r = wrap_root(m, r);
	if (!r)
		return false;
	m->result = r;
	return true;
}

/* Whether pattern operand p could match term operand t: a cheap test on the
 * head operator that spares most of the backtracking. */
static bool may_match(const struct expr *p, const struct expr *t)
{
	if (p->op == OP_PVAR)
		return true;
	if (p->op == OP_NUM)
		return t->op == OP_NUM || t->op == OP_ONES || t->op == OP_MUL;
	return p->op == t->op;
}

/* Every fixed operand of an n-ary pattern needs some operand of the term with its head. */
static bool anchors_present(const struct expr *p, const struct expr *e)
{
	for (int i = 0; i < p->nkids; i++) {
		bool found = false;
		for (int j = 0; j < e->nkids && !found; j++)
			found = may_match(p->kids[i], e->kids[j]);
		if (!found)
			return false;
	}
	return true;
}

static struct expr *apply_rule(struct rewriter *rw, const struct rule *r, struct expr *e);

static bool entrywise_head(const struct expr *e)
{
	return e->op == OP_HAD || e->op == OP_EDIV || e->op == OP_ADD ||
	       expr_op_info(e->op)->elementwise;
}

struct expr *rewrite_apply(struct rewriter *rw, const struct rule *r, struct expr *e)
{
	struct expr *res = apply_rule(rw, r, e);
	/* a number replacing an entrywise expression stands for that number in
	 * every entry (A ⊙ (1 ./ A) -> 1), as a number in a pattern matches a
	 * broadcast */
	if (res && res->op == OP_NUM && entrywise_head(e) && e->rows >= 0 && e->cols >= 0 &&
	    !expr_is_scalar(rw->s->mc, e)) {
		struct expr *ones = expr_ones(rw->s->mc, e->rows, e->cols);
		res = res->num == 1 ? ones : expr_make2(rw->s->mc, OP_MUL, res, ones, false);
	}
	return res;
}

/* ---- rules linear in each factor ---- */

/* Whether t is the product op of u and v, in this order (or either order for ⊙). */
static bool is_pair(const struct expr *t, enum expr_op op, const struct expr *u,
		    const struct expr *v)
{
	if (t->op != op || t->nkids != 2)
		return false;
	return (t->kids[0] == u && t->kids[1] == v) ||
	       (op == OP_HAD && t->kids[0] == v && t->kids[1] == u);
}

/* Whether t is U(a): the operator of the rule's left side around a alone. */
static bool is_wrapped(const struct expr *t, const struct expr *lhs, const struct expr *a)
{
	return t->op == lhs->op && t->nkids == 1 && t->kids[0] == a;
}

/* Whether rule r is U(A ∘ B) -> U(A) ∘ B + A ∘ U(B) without conditions, ∘ the
 * matrix product or ⊙ (associative, distributing over +): a U linear in each
 * factor, such as d(A B) (MC (37)) and d(A ⊙ B). */
static bool leibniz_form(const struct rule *r)
{
	const struct expr *l = r->lhs, *rhs = r->rhs;
	if (r->nconds || l->nkids != 1 || l->op == OP_PVAR || rhs->op != OP_ADD || rhs->nkids != 2)
		return false;
	const struct expr *p = l->kids[0];
	if ((p->op != OP_MUL && p->op != OP_HAD) || p->nkids != 2 || p->kids[0]->op != OP_PVAR ||
	    p->kids[1]->op != OP_PVAR || p->kids[0]->name == p->kids[1]->name)
		return false;
	const struct expr *a = p->kids[0], *b = p->kids[1];
	for (int first = 0; first < 2; first++) {
		const struct expr *s1 = rhs->kids[first], *s2 = rhs->kids[1 - first];
		if (s1->op != p->op || s2->op != p->op || s1->nkids != 2 || s2->nkids != 2)
			continue;
		/* U(A) ∘ B and A ∘ U(B) (for ⊙ the operands in either order) */
		const struct expr *ua = s1->kids[s1->kids[0] == b],
				  *ub = s2->kids[s2->kids[0] == a];
		if (is_wrapped(ua, l, a) && is_wrapped(ub, l, b) && is_pair(s1, p->op, ua, b) &&
		    is_pair(s2, p->op, a, ub))
			return true;
	}
	return false;
}

/* U(F1 ∘ ... ∘ Fn) for n > 2 by a rule of the Leibniz form, at every split at
 * once: Σ_i F1 ∘ ... ∘ U(Fi) ∘ ... ∘ Fn. The rule at the split F1 | F2 ... Fn,
 * again at U(F2 ... Fn) and so on, with F1 ∘ (P + Q) = F1 ∘ P + F1 ∘ Q, gives
 * the same sum; that way a chain of n factors nests n deep and distributing it
 * builds O(n^3) factors (grad(tr(A1 X ... Ak X), X)), this way n^2. The
 * distribution is algebra C does: docs/design.md. */
static struct expr *leibniz_apply(struct rewriter *rw, struct expr *e)
{
	struct mc *mc = rw->s->mc;
	struct expr *p = e->kids[0];
	int n = p->nkids;
	struct expr **k = mc_xmalloc((size_t)n * sizeof *k);
	struct expr **terms = mc_xmalloc((size_t)n * sizeof *terms);
	struct expr *res = NULL;
	for (int i = 0; i < n; i++) {
		memcpy(k, p->kids, (size_t)n * sizeof *k);
		k[i] = expr_make(mc, e->op, 1, &p->kids[i], false);
		terms[i] = k[i] ? expr_make(mc, p->op, n, k, false) : NULL;
		if (!terms[i])
			goto out;
	}
	res = expr_make(mc, OP_ADD, n, terms, false);
out:
	if (!res)
		mc_clear_error(mc);
	free(k);
	free(terms);
	return res;
}

static struct expr *apply_rule(struct rewriter *rw, const struct rule *r, struct expr *e)
{
	struct expr *p = r->lhs;
	if (e->nkids == 1 && e->op == p->op &&
	    (e->kids[0]->op == OP_MUL || e->kids[0]->op == OP_HAD) && e->kids[0]->nkids > 2 &&
	    e->kids[0]->op == p->kids[0]->op && leibniz_form(r))
		return leibniz_apply(rw, e);
	if ((p->op == OP_MUL || p->op == OP_ADD || p->op == OP_HAD) && e->op == p->op &&
	    !anchors_present(p, e))
		return NULL;
	/* tried for every rule at every node: no memset of the variable arrays */
	struct match m;
	m.rw = rw;
	m.rule = r;
	m.n = 0;
	m.pre = m.post = m.rest = NULL;
	m.npre = m.npost = m.nrest = 0;
	m.result = NULL;
	if (p->op == OP_MUL && e->op == OP_MUL && e->nkids > p->nkids) {
		/* a product pattern matches any run of consecutive factors; one made of
		 * variables only (A A) takes one factor each, or every run of every
		 * product would be tried */
		struct expr *first = p->kids[0], *last = p->kids[p->nkids - 1];
		bool vars_only = true;
		for (int i = 0; i < p->nkids; i++)
			vars_only &= p->kids[i]->op == OP_PVAR;
		for (int from = 0; from < e->nkids; from++) {
			if (!may_match(first, e->kids[from]))
				continue;
			int maxto = vars_only ? from + p->nkids : e->nkids;
			if (maxto > e->nkids)
				maxto = e->nkids;
			for (int to = from + p->nkids; to <= maxto; to++) {
				if (!may_match(last, e->kids[to - 1]))
					continue;
				m.pre = e->kids;
				m.npre = from;
				m.post = e->kids + to;
				m.npost = e->nkids - to;
				m.n = 0;
				struct seq_frame f = {
				    p->kids, e->kids + from, p->nkids, to - from, 0,
				    0,	     finish,	     NULL};
				if (seq_next(&m, &f))
					return m.result;
			}
		}
		return NULL;
	}
	if ((p->op == OP_ADD || p->op == OP_HAD) && e->op == p->op && e->nkids > p->nkids) {
		return ac_match(&m, p->op, p->kids, p->nkids, e->kids, e->nkids, true, finish, NULL)
			   ? m.result
			   : NULL;
	}
	return match(&m, p, e, finish, NULL) ? m.result : NULL;
}

/* ---- the runner ---- */

static bool in_sections(const char *sections, const char *section)
{
	size_t n = strlen(section);
	for (const char *s = sections; *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == n && strncmp(s, section, n) == 0)
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

/* The operators every node that p matches holds (as expr's ops mask): those
 * of p's own nodes but variables and numbers (a variable takes anything, a
 * number also a broadcast). match() compares operators exactly otherwise. */
static uint64_t pattern_ops(const struct expr *p)
{
	if (p->op == OP_PVAR || p->op == OP_NUM)
		return 0;
	uint64_t m = (uint64_t)1 << p->op;
	for (int i = 0; i < p->nkids; i++)
		m |= pattern_ops(p->kids[i]);
	return m;
}

static const struct rule_index *rule_index(struct rules *rules, const char *sections)
{
	for (int i = 0; i < rules->nidx; i++)
		if (strcmp(rules->idx[i].sections, sections) == 0)
			return &rules->idx[i];
	rules->idx = mc_xrealloc(rules->idx, (size_t)(rules->nidx + 1) * sizeof *rules->idx);
	struct rule_index *ix = &rules->idx[rules->nidx++];
	memset(ix, 0, sizeof *ix);
	ix->sections = mc_xstrdup(sections);
	ix->differential = in_sections(sections, "differential");
	for (int i = 0; i < rules->n; i++) {
		const struct rule *r = &rules->v[i];
		if (!in_sections(sections, r->section))
			continue;
		enum expr_op op = r->lhs->op;
		rules->v[i].lhs_ops = pattern_ops(r->lhs);
		ix->byop[op] = mc_xrealloc(ix->byop[op], (size_t)(ix->nbyop[op] + 1) * sizeof(int));
		ix->byop[op][ix->nbyop[op]++] = i;
	}
	return ix;
}

static struct rw_memo *session_memo(struct session *s, const struct rule_index *ix,
				    const struct expr *var);

void rewriter_init(struct rewriter *rw, struct session *s, struct rules *rules, const char *section,
		   struct expr *var, struct steps *steps)
{
	memset(rw, 0, sizeof *rw);
	rw->s = s;
	rw->rules = rules;
	rw->section = section;
	rw->var = var;
	rw->steps = steps;
	rw->limit = s->mc->lim.bounds.steps > 0 ? s->mc->lim.bounds.steps : LONG_MAX;
	rw->ix = rule_index(rules, section);
	/* with steps shown every run starts afresh, so that each step is seen */
	if (steps)
		rw->memo = mc_xcalloc(1, sizeof *rw->memo);
	else
		rw->memo = session_memo(s, rw->ix, var);
}

void rewriter_done(struct rewriter *rw)
{
	if (rw->steps) {
		free(rw->memo->slot);
		free(rw->memo);
	}
	free(rw->fired);
	memset(rw, 0, sizeof *rw);
}

static struct rw_memo *session_memo(struct session *s, const struct rule_index *ix,
				    const struct expr *var)
{
	for (int i = 0; i < s->nmemos; i++) {
		struct rw_memo *m = &s->memos[i];
		if (m->ix == ix && m->var == var && m->unsym == s->unsym)
			return m;
	}
	s->memos = mc_xrealloc(s->memos, (size_t)(s->nmemos + 1) * sizeof *s->memos);
	struct rw_memo *m = &s->memos[s->nmemos++];
	memset(m, 0, sizeof *m);
	m->ix = ix;
	m->var = var;
	m->unsym = s->unsym;
	return m;
}

void rewrite_memo_clear(struct session *s)
{
	for (int i = 0; i < s->nmemos; i++)
		free(s->memos[i].slot);
	free(s->memos);
	s->memos = NULL;
	s->nmemos = 0;
	expr_make_forget(s->mc);
}

static size_t memo_slot(const struct rw_memo *m, const struct expr *e)
{
	return (size_t)(e->hash * 2654435761u) & (m->cap - 1);
}

static struct expr *memo_get(struct rewriter *rw, const struct expr *e)
{
	struct rw_memo *m = rw->memo;
	if (!m->cap)
		return NULL;
	for (size_t i = memo_slot(m, e);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slot[i].k)
			return NULL;
		if (m->slot[i].k == e)
			return m->slot[i].v;
	}
}

static void memo_insert(struct rw_memo *m, struct expr *e, struct expr *v)
{
	size_t i = memo_slot(m, e);
	while (m->slot[i].k && m->slot[i].k != e)
		i = (i + 1) & (m->cap - 1);
	if (!m->slot[i].k)
		m->n++;
	m->slot[i].k = e;
	m->slot[i].v = v;
}

static void memo_put(struct rewriter *rw, struct expr *e, struct expr *v)
{
	struct rw_memo *m = rw->memo;
	if (2 * (m->n + 1) > m->cap) {
		/* small at first: a table is made for every section a statement
		 * runs, and most hold a few dozen forms (zeroing 256 slots per table
		 * was a tenth of a small derivation) */
		size_t oc = m->cap;
		struct rw_memo_slot *old = m->slot;
		m->cap = oc ? 4 * oc : 32;
		m->slot = mc_xcalloc(m->cap, sizeof *m->slot);
		m->n = 0;
		for (size_t i = 0; i < oc; i++)
			if (old[i].k)
				memo_insert(m, old[i].k, old[i].v);
		free(old);
	}
	memo_insert(m, e, v);
}

/* The engine's own step in the differential section: d of a symbol is dX
 * for the variable and 0 for any other symbol (the definition of d). */
static struct expr *builtin_step(struct rewriter *rw, struct expr *e)
{
	if (e->op != OP_D || !rw->ix->differential)
		return NULL;
	struct expr *a = e->kids[0];
	if (a->op == OP_SYM)
		return a == rw->var ? expr_diff(rw->s->mc, a)
				    : expr_zero(rw->s->mc, DIM_ANY, DIM_ANY);
	return NULL;
}

static bool same_shape(struct mc *mc, const struct expr *a, const struct expr *b)
{
	return dim_same(mc, a->rows, b->rows) && dim_same(mc, a->cols, b->cols);
}

/* Tries the section's rules at the root of e; the first that applies wins. */
static struct expr *root_step(struct rewriter *rw, struct expr *e, const struct rule **which)
{
	struct expr *b = builtin_step(rw, e);
	if (b) {
		*which = NULL;
		rw->builtin_zero = b->op == OP_ZERO;
		return b;
	}
	for (int k = 0; k < rw->ix->nbyop[e->op]; k++) {
		int i = rw->ix->byop[e->op][k];
		const struct rule *r = &rw->rules->v[i];
		if (r->needs_diff && !(e->flags & EF_HAS_DIFF))
			continue;
		/* an operator of the pattern that e lacks: it cannot match (four
		 * in five attempts over bench_diff's cases end here, for the price
		 * of a mask test) */
		if (r->lhs_ops & ~e->ops)
			continue;
		struct expr *res = rewrite_apply(rw, r, e);
		/* a rule never changes a shape: a result that does is refused */
		if (res && res != e && !same_shape(rw->s->mc, res, e))
			res = NULL;
		/* A^-1 A -> I, I^k -> I: the I takes the size of what it replaces, which vec, ⊗ and
		 * the evaluator need */
		if (res && res->op == OP_IDENT && res->rows < 0 && e->rows >= 0 &&
		    (e->op == OP_MUL || e->op == OP_POW) && expr_is_square(rw->s->mc, e))
			res = expr_ident(rw->s->mc, e->rows);
		if (res && res != e) {
			*which = r;
			if (!rw->fired && (rw->count > rw->limit / 2 ||
					   rw->depth > LIMIT_REWRITE_DEPTH / 2))
				rw->fired = mc_xcalloc((size_t)rw->rules->n + 1, sizeof *rw->fired);
			if (rw->fired)
				rw->fired[i]++;
			rw->rules->v[i].hits++;
			return res;
		}
	}
	return NULL;
}

static struct expr *rebuild(struct rewriter *rw, struct expr *e, struct expr **kids)
{
	bool same = true;
	for (int i = 0; i < e->nkids; i++)
		if (kids[i] != e->kids[i])
			same = false;
	if (same)
		return e;
	struct mc *mc = rw->s->mc;
	struct expr *r;
	if (e->op == OP_DIFF)
		r = expr_diff(mc, kids[0]);
	else
		r = expr_make(mc, e->op, e->nkids, kids, false);
	if (!r) {
		mc_clear_error(mc);
		return e;
	}
	return r;
}

/* Whether the run must stop now: a limit of the statement, or nesting too deep. */
static bool must_stop(struct rewriter *rw)
{
	if (rw->stop != REWRITE_FIXPOINT)
		return true;
	if (limit_poll(&rw->s->mc->lim))
		rw->stop = REWRITE_HALTED;
	else if (rw->depth > LIMIT_REWRITE_DEPTH)
		rw->stop = REWRITE_DEPTH;
	return rw->stop != REWRITE_FIXPOINT;
}

static struct expr *norm_nested(struct rewriter *rw, struct expr *e);

static struct expr *norm(struct rewriter *rw, struct expr *e)
{
	rw->depth++;
	struct expr *r = must_stop(rw) ? e : norm_nested(rw, e);
	rw->depth--;
	return r;
}

static struct expr *norm_nested(struct rewriter *rw, struct expr *e)
{
	struct expr *done = memo_get(rw, e);
	if (done)
		return done;
	struct expr *cur = e;
	for (;;) {
		/* the constructor may regroup the normalized operands into new ones
		 * (a 1x1 run becomes one factor): those are normalized in turn */
		for (int pass = 0; pass < 8 && cur->nkids; pass++) {
			struct expr *small[8];
			struct expr **k =
			    cur->nkids <= 8 ? small : mc_xmalloc((size_t)cur->nkids * sizeof *k);
			for (int i = 0; i < cur->nkids; i++)
				k[i] = norm(rw, cur->kids[i]);
			struct expr *next = rebuild(rw, cur, k);
			if (k != small)
				free(k);
			bool fresh = false;
			if (next != cur)
				for (int i = 0; i < next->nkids && !fresh; i++)
					fresh = memo_get(rw, next->kids[i]) != next->kids[i];
			cur = next;
			if (!fresh)
				break;
		}
		if (rw->count >= rw->limit)
			rw->stop = REWRITE_LIMIT;
		if (must_stop(rw))
			return cur; /* not a normal form: not memoized */
		const struct rule *which;
		struct expr *next = root_step(rw, cur, &which);
		if (!next)
			break;
		rw->count++;
		cur = next;
	}
	memo_put(rw, e, cur);
	memo_put(rw, cur, cur);
	return cur;
}

/* One step at the innermost, leftmost place where a rule applies: the whole
 * expression after it, or NULL at a fixed point. Used when steps are shown. */
static struct expr *one_step_nested(struct rewriter *rw, struct expr *e, const struct rule **which);

static struct expr *one_step(struct rewriter *rw, struct expr *e, const struct rule **which)
{
	rw->depth++;
	struct expr *r = must_stop(rw) ? NULL : one_step_nested(rw, e, which);
	rw->depth--;
	return r;
}

static struct expr *one_step_nested(struct rewriter *rw, struct expr *e, const struct rule **which)
{
	if (memo_get(rw, e) == e)
		return NULL;
	for (int i = 0; i < e->nkids; i++) {
		struct expr *k = one_step(rw, e->kids[i], which);
		if (!k && rw->stop != REWRITE_FIXPOINT)
			return NULL;
		if (k) {
			struct expr **kids = mc_xmalloc((size_t)e->nkids * sizeof *kids);
			memcpy(kids, e->kids, (size_t)e->nkids * sizeof *kids);
			kids[i] = k;
			struct expr *r = rebuild(rw, e, kids);
			free(kids);
			return r;
		}
	}
	struct expr *r = root_step(rw, e, which);
	if (!r)
		memo_put(rw, e, e);
	return r;
}

struct expr *rewrite_to_fixpoint(struct rewriter *rw, struct expr *e)
{
	struct expr *r;
	if (rw->steps) {
		r = e;
		for (;;) {
			if (rw->count >= rw->limit)
				rw->stop = REWRITE_LIMIT;
			const struct rule *which = NULL;
			struct expr *n = one_step(rw, r, &which);
			if (!n)
				break;
			rw->count++;
			if (which)
				steps_add(rw->steps, which, r, n);
			else /* d(A) of a symbol: dA for the variable, else 0 (MC (33)) */
				steps_note(rw->steps, SHOW_TIDY,
					   rw->builtin_zero ? "MC (33)" : NULL, true, r, n);
			r = n;
		}
	} else {
		r = norm(rw, e);
	}
	if (rw->stop == REWRITE_HALTED)
		return NULL; /* the limit's message is in rw->s->mc */
	if (rw->stop != REWRITE_FIXPOINT) {
		/* name the rules that fired most: they are the loop */
		struct sbuf b = {0};
		if (rw->stop == REWRITE_LIMIT)
			sbuf_printf(&b,
				    "the rules did not reach a fixed point in %ld steps "
				    "(the step limit: --max-steps N raises it); most applied:",
				    rw->limit);
		else
			sbuf_printf(&b,
				    "the rules nest their results deeper than %d levels "
				    "(the rewriting depth limit); most applied:",
				    LIMIT_REWRITE_DEPTH);
		for (int shown = 0; shown < 3 && rw->fired; shown++) {
			int best = -1;
			for (int i = 0; i < rw->rules->n; i++)
				if (rw->fired[i] > 0 &&
				    (best < 0 || rw->fired[i] > rw->fired[best]))
					best = i;
			if (best < 0)
				break;
			const struct rule *ru = &rw->rules->v[best];
			sbuf_printf(&b, "%s %s:%d '%s' (%d times)", shown ? "," : "", ru->file,
				    ru->line, ru->text, rw->fired[best]);
			rw->fired[best] = -rw->fired[best];
		}
		mc_fail(rw->s->mc, MC_ERR_LIMIT, "%s", b.s);
		sbuf_free(&b);
		return NULL;
	}
	return r;
}
