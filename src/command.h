/* command.h - the statements beyond declarations: printing, deriving, eval, check, solve. */
#ifndef COMMAND_H
#define COMMAND_H

#include "print.h"
#include "session.h"

/* Runs a bare expression statement: a command call (eval, check, ...) or an
 * expression to simplify and print. False with the error in s->mc. */
bool command_run(struct session *s, const struct syn *e);

/* Works out grad/hess/jacobian/d inside e and simplifies. NULL on error. */
struct expr *command_derive(struct session *s, struct expr *e, struct loc loc);

/* The value of e with the session's bound values; an I or 0 of no size takes
 * the size of s->shape_hint. Owned (value_free); NULL with the error in s->mc. */
struct value *command_value(struct session *s, const struct expr *e);

/* Prints every loaded rule with its citation (plain, or LaTeX table rows with --latex). */
void command_list_rules(struct session *s);
/* The same, only rules whose text, citation or section contains pattern. */
void command_list_rules_matching(struct session *s, const char *pattern);

/* The session's output style: --latex, --pretty or plain. */
enum print_style command_style(const struct session *s);

/* Prints a result line in the session's style. */
void command_print(struct session *s, const struct expr *e);

#endif
