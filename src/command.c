/* command.c - the statements beyond declarations: printing, deriving, eval, check, solve. */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "emit.h"
#include "eval.h"
#include "print.h"
#include "rewrite.h"
#include "solve.h"
#include "value.h"
#include "verify.h"

enum print_style command_style(const struct session *s)
{
	return s->latex ? PRINT_LATEX : s->pretty ? PRINT_PRETTY : PRINT_PLAIN;
}

void command_print(struct session *s, const struct expr *e)
{
	char *str = print_str(s->mc, e, command_style(s));
	fprintf(s->out, "%s\n", str);
	free(str);
}

/* The name f of grad(f, x) (hess, jacobian, d) when f is a defined function:
 * the derivation then writes d f, not f written out. */
static const char *defined_fn(struct session *s, const struct syn *n)
{
	if (n->kind != SYN_CALL || n->n < 1 || n->kids[0]->kind != SYN_IDENT)
		return NULL;
	if (strcmp(n->name, "grad") != 0 && strcmp(n->name, "hess") != 0 &&
	    strcmp(n->name, "jacobian") != 0 && strcmp(n->name, "d") != 0)
		return NULL;
	const struct def *d = session_def(s, n->kids[0]->name);
	return d ? d->name : NULL;
}

/* command_derive for the statement n, whose function may have a name */
static struct expr *derive_syn(struct session *s, struct expr *e, const struct syn *n)
{
	s->steps_fname = defined_fn(s, n);
	struct expr *r = command_derive(s, e, n->loc);
	s->steps_fname = NULL;
	return r;
}

struct expr *command_derive(struct session *s, struct expr *e, struct loc loc)
{
	struct steps st = {0};
	if (s->steps)
		s->cur_steps = &st;
	struct expr *r = diff_derive(s, e);
	s->cur_steps = NULL;
	if (!r)
		mc_set_loc(s->mc, loc);
	else if (s->steps && st.n) {
		struct steps_style how = {command_style(s), s->steps_all, NULL, NULL};
		if (s->steps_fname) {
			const struct def *d = session_def(s, s->steps_fname);
			how.fname = d ? d->name : NULL;
			how.fdef = d ? d->e : NULL;
		}
		steps_print(s->mc, s->out, &st, e, r, &how);
	}
	s->steps_shown = r && s->steps && st.n;
	steps_free(&st);
	return r;
}

void command_list_rules_matching(struct session *s, const char *pattern)
{
	if (!rules_load(s))
		return;
	for (int i = 0; i < s->rules->n; i++) {
		const struct rule *r = &s->rules->v[i];
		if (pattern && *pattern && !strstr(r->text, pattern) && !strstr(r->cite, pattern) &&
		    !strstr(r->section, pattern))
			continue;
		if (s->latex) {
			char *l = print_str(s->mc, r->lhs, PRINT_LATEX);
			char *rr = print_str(s->mc, r->rhs, PRINT_LATEX);
			fprintf(s->out, "%s & %s & %s \\\\\n", l, rr, r->cite);
			free(l);
			free(rr);
		} else {
			fprintf(s->out, "[%s] %s\n", r->section, r->text);
		}
	}
}

void command_list_rules(struct session *s) { command_list_rules_matching(s, NULL); }

struct value *command_value(struct session *s, const struct expr *e)
{
	/* an I or 0 of no size at the top takes the size of the statement's shape
	 * (grad(tr(X), X) = I has X's size) */
	struct eval_opts o = {0};
	if (e->rows < 0 && s->shape_hint) {
		o.hint_rows = dim_value(s->mc, s->shape_hint->rows);
		o.hint_cols = dim_value(s->mc, s->shape_hint->cols);
		if (o.hint_rows < 1 || o.hint_cols < 1)
			o.hint_rows = o.hint_cols = 0;
	}
	return eval_expr_opts(s, e, &o);
}

static bool print_value(struct session *s, const struct expr *e)
{
	struct value *v = command_value(s, e);
	if (!v)
		return false;
	struct sbuf b = {0};
	value_print(s, &b, v);
	fprintf(s->out, "%s\n", b.s);
	sbuf_free(&b);
	value_free(v);
	return true;
}

/* The single expression argument of eval(e), factor(e), worked out. */
static struct expr *one_arg(struct session *s, const struct syn *n)
{
	if (n->n != 1 || n->kids[0]->kind == SYN_EQ) {
		mc_fail_at(s->mc, MC_ERR_SYNTAX, n->loc, "%s takes one expression: %s(e)", n->name,
			   n->name);
		return NULL;
	}
	struct expr *e = session_resolve(s, n->kids[0]);
	s->shape_hint = e;
	if (e && (e->flags & EF_HAS_OP))
		e = derive_syn(s, e, n->kids[0]);
	return e;
}

/* solve(E = 0, Θ): prints "Θ = ..." (or evaluates the solution) */
static bool run_solve(struct session *s, const struct syn *n, bool evaluate)
{
	if (n->n != 2 || n->kids[0]->kind != SYN_EQ)
		return mc_fail_at(s->mc, MC_ERR_SYNTAX, n->loc,
				  "solve takes an equation and a symbol: solve(grad(f, X) = 0, X)");
	/* the equation as one node, so that its sides' shapes are unified */
	struct expr *eqn = session_resolve(s, n->kids[0]);
	struct expr *x = eqn ? session_resolve(s, n->kids[1]) : NULL;
	if (!x)
		return false;
	struct expr *lhs = eqn->kids[0], *rhs = eqn->kids[1];
	if (x->op != OP_SYM)
		return mc_fail_at(s->mc, MC_ERR_SYNTAX, n->kids[1]->loc,
				  "solve needs a symbol to solve for, not an expression");
	/* with --steps the derivation of grad(...) is shown before the solution */
	if (lhs->flags & EF_HAS_OP)
		lhs = derive_syn(s, lhs, n->kids[0]->kids[0]);
	if (lhs && (rhs->flags & EF_HAS_OP))
		rhs = derive_syn(s, rhs, n->kids[0]->kids[1]);
	s->steps_shown = false;
	if (!lhs || !rhs)
		return false;
	bool vec = false;
	struct expr *sol = solve_linear(s, lhs, rhs, x, &vec);
	if (!sol) {
		mc_set_loc(s->mc, n->loc);
		return false;
	}
	if (evaluate) {
		if (vec)
			return mc_fail_at(s->mc, MC_ERR_EVAL, n->loc,
					  "eval of a solution in vec form is not supported: bind "
					  "values and use eval on the printed expression");
		return print_value(s, sol);
	}
	struct expr *shown = vec ? expr_make1(s->mc, OP_VEC, x, false) : x;
	struct expr *eq = shown ? expr_make2(s->mc, OP_EQ, shown, sol, false) : NULL;
	if (!eq)
		return false;
	s->result = eq;
	command_print(s, eq);
	return true;
}

static bool run_eval(struct session *s, const struct syn *n)
{
	if (n->n == 1 && n->kids[0]->kind == SYN_CALL && strcmp(n->kids[0]->name, "solve") == 0)
		return run_solve(s, n->kids[0], true);
	struct expr *e = one_arg(s, n);
	return e && print_value(s, e);
}

static bool run_factor(struct session *s, const struct syn *n)
{
	struct expr *e = one_arg(s, n);
	if (!e)
		return false;
	e = diff_factor(s, e);
	if (!e)
		return false;
	s->result = e;
	command_print(s, e);
	return true;
}

bool command_run(struct session *s, const struct syn *n)
{
	if (n->kind == SYN_CALL) {
		if (strcmp(n->name, "check") == 0)
			return verify_check(s, n);
		if (strcmp(n->name, "gradcheck") == 0)
			return verify_gradcheck(s, n);
		if (strcmp(n->name, "eval") == 0)
			return run_eval(s, n);
		if (strcmp(n->name, "factor") == 0)
			return run_factor(s, n);
		if (strcmp(n->name, "solve") == 0)
			return run_solve(s, n, false);
	}
	if (n->kind == SYN_EQ)
		return mc_fail_at(
		    s->mc, MC_ERR_SYNTAX, n->loc,
		    "an equation on its own does nothing: use check(a = b) or solve(...)");
	struct expr *e = session_resolve(s, n);
	if (!e)
		return false;
	struct expr *call = e;
	s->shape_hint = e;
	bool emitting = s->emit_numpy || s->emit_c, steps = s->steps;
	if (emitting)
		s->steps = false; /* the output is a program: no derivation in it */
	e = (e->flags & EF_HAS_OP) ? derive_syn(s, e, n) : diff_simplify(s, e);
	s->steps = steps;
	if (!e)
		return false;
	s->result = e;
	if (s->emit_numpy || s->emit_c)
		return emit_statement(s, call, e, s->out);
	if (eval_all_bound_by(s, call, e))
		return print_value(s, e);
	if (!s->steps_shown && s->latex && n->kind == SYN_CALL && strcmp(n->name, "grad") == 0 &&
	    n->n == 2 && n->kids[0]->kind == SYN_IDENT && session_def(s, n->kids[0]->name)) {
		/* a named function's gradient reads as on a slide: ∇_θ f = ... */
		struct expr *x = session_resolve(s, n->kids[1]);
		char *xs = x ? print_str(s->mc, x, PRINT_LATEX) : NULL;
		char *r = print_str(s->mc, e, PRINT_LATEX);
		struct sbuf f = {0};
		print_name(s->mc, &f, n->kids[0]->name);
		fprintf(s->out, "\\nabla_{%s} %s = %s\n", xs ? xs : "", f.s, r);
		sbuf_free(&f);
		free(xs);
		free(r);
	} else if (!s->steps_shown) {
		command_print(s, e);
	}
	s->steps_shown = false;
	return true;
}
