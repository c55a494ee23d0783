/* statement.c - running statements in a session: let, definitions, commands, whole texts. */
#include "statement.h"

#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "print.h"
#include "rewrite.h"
#include "value.h"
#include "verify.h"

struct session *session_new(FILE *out, FILE *err)
{
	struct session *s = mc_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	s->mc = mc_new();
	print_install(s->mc);
	s->out = out;
	s->err = err;
	s->seed = 42;
	value_seed(s, s->seed);
	return s;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	value_free_all(s);
	rewrite_memo_clear(s);
	free(s->decls);
	free(s->defs);
	free(s->binds);
	free(s->error_msg);
	if (s->check) {
		verify_report_clear(s->check);
		free(s->check);
	}
	rules_unload(s);
	mc_free(s->mc);
	free(s);
}

/* Drops name's declaration (and its value) and definition. */
static void forget(struct session *s, const char *name)
{
	const struct decl *d = session_forget(s, name);
	if (d)
		value_unbind(s, d);
}

void session_report(struct session *s, struct loc fallback)
{
	struct mc *mc = s->mc;
	if (!mc_failed(mc))
		return;
	struct loc at = mc->err.has_loc ? mc->err.loc : fallback;
	loc_report(s->err, s->where, s->src, s->srclen, at, mc->err.msg);
	free(s->error_msg);
	s->error_msg = mc_xstrdup(mc->err.msg ? mc->err.msg : "");
	s->error_loc = at;
	if (s->status < 2)
		s->status = 2;
	mc_clear_error(mc);
}

static bool run_let(struct session *s, const struct syn *st)
{
	struct mc *mc = s->mc;
	bool symmetric = false, spd = false;
	enum decl_kind kind = KIND_MATRIX;
	int rows = DIM_ANY, cols = DIM_ANY;
	bool have_kind = false;
	for (int i = 0; i < st->ntype; i++) {
		const struct syn *w = st->tkids[i];
		const char *nm = w->name;
		if (w->kind == SYN_IDENT && strcmp(nm, "symmetric") == 0)
			symmetric = true;
		else if (w->kind == SYN_IDENT && (strcmp(nm, "spd") == 0 || strcmp(nm, "pd") == 0))
			spd = symmetric = true;
		else if (w->kind == SYN_IDENT && strcmp(nm, "scalar") == 0) {
			kind = KIND_SCALAR;
			rows = cols = mc->dim_one;
			have_kind = true;
		} else if (strcmp(nm, "matrix") == 0) {
			kind = KIND_MATRIX;
			have_kind = true;
			if (w->kind == SYN_CALL) {
				if (w->n != 2 && !(w->n == 1 && (symmetric || spd)))
					return session_fail_at(s, w, MC_ERR_SHAPE,
						       "matrix takes two sizes: matrix(n, m)");
				rows = session_resolve_dim(s, w->kids[0]);
				cols = w->n == 2 ? session_resolve_dim(s, w->kids[1]) : rows;
				if (rows < -1 || cols < -1)
					return false;
			}
		} else if (strcmp(nm, "vector") == 0) {
			kind = KIND_VECTOR;
			have_kind = true;
			cols = mc->dim_one;
			if (w->kind == SYN_CALL) {
				if (w->n != 1)
					return session_fail_at(s, w, MC_ERR_SHAPE,
						       "vector takes one size: vector(n)");
				rows = session_resolve_dim(s, w->kids[0]);
				if (rows < -1)
					return false;
			}
		} else {
			return session_fail_at(
			    s, w, MC_ERR_SYNTAX,
			    "unknown type word '%s': use scalar, vector(n), matrix(n, m), "
			    "symmetric matrix(n, n) or spd matrix(n, n)",
			    nm);
		}
	}
	if (!have_kind)
		return session_fail_at(s, st, MC_ERR_SYNTAX,
			       "say what kind: scalar, vector(n) or matrix(n, m)");
	if ((symmetric || spd) && kind != KIND_MATRIX)
		return session_fail_at(s, st, MC_ERR_SHAPE, "only a matrix can be symmetric");
	for (int i = 0; i < st->n; i++) {
		const char *name = st->kids[i]->name;
		int r = rows, c = cols;
		char buf[300];
		if (r == DIM_ANY) {
			snprintf(buf, sizeof buf, "n_%s", name);
			r = dim_new(mc, -1, buf, true);
		}
		if (c == DIM_ANY) {
			snprintf(buf, sizeof buf, "m_%s", name);
			c = (symmetric || spd) ? r : dim_new(mc, -1, buf, true);
		}
		if ((symmetric || spd) && !dim_unify(mc, r, c))
			return session_fail_at(s, st, MC_ERR_SHAPE, "a symmetric matrix must be square");
		forget(s, name);
		struct decl *d = session_add_decl(s, name, kind, r, c, false);
		d->symmetric = symmetric;
		d->spd = spd;
	}
	return true;
}

static bool run_assign(struct session *s, const struct syn *st)
{
	const struct syn *lhs = st->kids[0], *rhs = st->kids[1];
	const char *name = NULL;
	if (lhs->kind == SYN_IDENT)
		name = lhs->name;
	else if (lhs->kind == SYN_CALL && !session_is_command(lhs->name) && expr_op_by_name(lhs->name) < 0)
		name = lhs->name; /* f(θ) = ... defines f */
	if (!name)
		return session_fail_at(
		    s, lhs, MC_ERR_SYNTAX,
		    "the left side of '=' must be a name; to compare write check(a = b)");
	if (value_is_literal(rhs))
		return value_bind(s, lhs, rhs);
	struct expr *e = session_resolve(s, rhs);
	if (!e)
		return false;
	if (e->flags & EF_HAS_OP) {
		e = command_derive(s, e, rhs->loc);
		if (!e)
			return false;
	}
	forget(s, name); /* a name given an expression is no longer a symbol */
	session_define(s, name, e);
	return true;
}

static bool run_stmt(struct session *s, const struct syn *st)
{
	switch (st->kind) {
	case STMT_LET:
		return run_let(s, st);
	case STMT_ASSIGN:
		return run_assign(s, st);
	case STMT_EXPR:
		return command_run(s, st->kids[0]);
	default:
		return session_fail_at(s, st, MC_ERR_SYNTAX, "not a statement");
	}
}

/* The parser's question: is this word a name the user declared or defined? */
static bool session_knows(void *ctx, const char *name)
{
	struct session *s = ctx;
	const struct decl *d = session_decl(s, name);
	return (d && !d->implicit) || session_def(s, name);
}

static void set_text(struct session *s, const char *where, const char *src, size_t len)
{
	s->where = where;
	s->src = src;
	s->srclen = len;
}

bool session_parse(struct session *s, struct session_text *t, const char *where, const char *src,
		   size_t len, bool *incomplete)
{
	memset(t, 0, sizeof *t);
	set_text(s, where, src, len);
	if (parse_text_names(&t->p, s->mc, src, len, false, session_knows, s))
		return true;
	t->stopped = true;
	if (incomplete && t->p.eof_error && t->p.depth > 0) {
		*incomplete = true;
		return false;
	}
	struct loc at = t->p.errloc;
	/* an early end of input is shown at the end of the last line, not after it */
	while (at.first > 0 && at.first >= (int)len &&
	       (src[at.first - 1] == '\n' || src[at.first - 1] == '\r'))
		at.first--;
	const char *msg = t->p.err ? t->p.err : "syntax error";
	if (at.first < (int)len && src[at.first] == ':' &&
	    (at.first == 0 || src[at.first - 1] == '\n'))
		msg = "':' commands (:vars, :help, ...) work in the interactive REPL only";
	loc_report(s->err, where, src, len, at, msg);
	free(s->error_msg);
	s->error_msg = mc_xstrdup(msg);
	s->error_loc = at;
	s->status = 2;
	return false;
}

bool session_run_next(struct session *s, struct session_text *t, const struct syn **stmt)
{
	if (stmt)
		*stmt = NULL;
	if (t->stopped || t->next >= t->p.nitems)
		return true;
	const struct syn *st = t->p.items[t->next++];
	if (stmt)
		*stmt = st;
	s->result = NULL;
	rewrite_memo_clear(s);
	session_begin_statement(s, st);
	bool done = run_stmt(s, st);
	rewrite_memo_clear(s);
	if (!done) {
		if (!mc_failed(s->mc))
			mc_fail(s->mc, MC_ERR_EVAL, "statement failed");
		session_report(s, st->loc);
		t->stopped = true;
	}
	fflush(s->out);
	return done;
}

void session_text_free(struct session_text *t) { parse_free(&t->p); }

static bool run_text(struct session *s, const char *where, const char *src, size_t len,
		     bool *incomplete)
{
	struct session_text t;
	bool ok = session_parse(s, &t, where, src, len, incomplete);
	while (ok && t.next < t.p.nitems)
		ok = session_run_next(s, &t, NULL);
	session_text_free(&t);
	return ok;
}

bool session_run(struct session *s, const char *where, const char *src, size_t len)
{
	return run_text(s, where, src, len, NULL);
}

bool session_run_repl(struct session *s, const char *src, size_t len, bool *incomplete)
{
	*incomplete = false;
	return run_text(s, "<input>", src, len, incomplete);
}
