/* command.c - the statements beyond declarations: printing, deriving, eval, check, solve. */
#include "command.h"

#include <stdlib.h>
#include <string.h>

#include "print.h"

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

bool command_is_value(struct session *s, const struct syn *rhs)
{
	(void)s;
	if (rhs->kind == SYN_MATRIX || rhs->kind == SYN_NUM)
		return true;
	if (rhs->kind == SYN_OP && rhs->op == SOP_NEG && rhs->kids[0]->kind == SYN_NUM)
		return true;
	return rhs->kind == SYN_CALL &&
	       (strcmp(rhs->name, "rand") == 0 || strcmp(rhs->name, "randn") == 0);
}

bool command_bind(struct session *s, const struct syn *lhs, const struct syn *rhs)
{
	(void)rhs;
	return not_yet(s, lhs, "binding a numeric value");
}

void command_unbind(struct session *s, const struct decl *d)
{
	(void)s;
	(void)d;
}

void command_free_values(struct session *s)
{
	(void)s;
}

void command_seed(struct session *s, unsigned long seed)
{
	s->seed = seed;
}

struct expr *command_derive(struct session *s, struct expr *e, struct loc loc)
{
	(void)e;
	mc_fail_at(s->mc, MC_ERR_NOTIMPL, loc, "differentiation is not implemented yet");
	return NULL;
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

bool command_run(struct session *s, const struct syn *n)
{
	if (n->kind == SYN_CALL) {
		static const char *const cmds[] = {"eval", "check", "gradcheck", "solve", "factor",
						   NULL};
		for (int i = 0; cmds[i]; i++)
			if (strcmp(n->name, cmds[i]) == 0)
				return not_yet(s, n, cmds[i]);
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
	command_print(s, e);
	return true;
}
