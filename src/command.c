/* command.c - the statements beyond declarations: printing, deriving, eval, check, solve. */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "diff.h"
#include "eval.h"
#include "print.h"
#include "value.h"

void command_print(struct session *s, const struct expr *e)
{
	char *str = print_str(s->mc, e, s->latex ? PRINT_LATEX : PRINT_PLAIN);
	fprintf(s->out, "%s\n", str);
	free(str);
}

static bool not_yet(struct session *s, const struct syn *n, const char *what)
{
	return mc_fail_at(s->mc, MC_ERR_NOTIMPL, n->loc, "%s is not implemented yet", what);
}

struct expr *command_derive(struct session *s, struct expr *e, struct loc loc)
{
	struct expr *r = diff_derive(s, e);
	if (!r)
		mc_set_loc(s->mc, loc);
	return r;
}

bool command_load_rules(struct session *s)
{
	(void)s;
	return true;
}

void command_free_rules(struct session *s)
{
	(void)s;
}

void command_list_rules(struct session *s)
{
	(void)s;
}

static bool print_value(struct session *s, const struct expr *e)
{
	struct value *v = eval_expr(s, e);
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
	if (e && (e->flags & EF_HAS_OP))
		e = command_derive(s, e, n->kids[0]->loc);
	return e;
}

static bool run_eval(struct session *s, const struct syn *n)
{
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
	command_print(s, e);
	return true;
}

bool command_run(struct session *s, const struct syn *n)
{
	if (n->kind == SYN_CALL) {
		if (strcmp(n->name, "check") == 0)
			return check_run(s, n);
		if (strcmp(n->name, "gradcheck") == 0)
			return gradcheck_run(s, n);
		if (strcmp(n->name, "eval") == 0)
			return run_eval(s, n);
		if (strcmp(n->name, "factor") == 0)
			return run_factor(s, n);
		if (strcmp(n->name, "solve") == 0)
			return not_yet(s, n, "solve");
	}
	if (n->kind == SYN_EQ)
		return mc_fail_at(s->mc, MC_ERR_SYNTAX, n->loc,
				  "an equation on its own does nothing: use check(a = b) or solve(...)");
	struct expr *e = session_resolve(s, n);
	if (!e)
		return false;
	if (e->flags & EF_HAS_OP) {
		e = command_derive(s, e, n->loc);
		if (!e)
			return false;
	}
	if (eval_all_bound(s, e))
		return print_value(s, e);
	command_print(s, e);
	return true;
}
