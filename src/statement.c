/* statement.c - running statements in a session: let, definitions, commands, whole texts. */
#include "statement.h"

#include <errno.h>
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
	if (mc->lim.halt_msg) {
		/* a limit stopped the statement: that is the error, whatever followed from it */
		mc_clear_error(mc);
		mc_fail(mc, MC_ERR_LIMIT, "%s", mc->lim.halt_msg);
		free(mc->lim.halt_msg);
		mc->lim.halt_msg = NULL;
	}
	struct loc at = mc->err.has_loc ? mc->err.loc : fallback;
	loc_report_lines(s->err, s->where, s->lines_before, s->src, s->srclen, at, mc->err.msg);
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
	if (parse_text_names(&t->p, s->mc, src, len, false, session_knows, s)) {
		/* room for the nodes of its longest statement at once (a file of short
		 * statements, read in pieces, needs none) */
		size_t longest = 0;
		for (int i = 0; i < t->p.nitems; i++) {
			const struct syn *st = t->p.items[i];
			if (st && st->loc.last - st->loc.first > (int)longest)
				longest = (size_t)(st->loc.last - st->loc.first);
		}
		expr_expect_text(s->mc, longest);
		return true;
	}
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
	loc_report_lines(s->err, where, s->lines_before, src, len, at, msg);
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
	limit_start(&s->mc->lim);
	bool done = run_stmt(s, st) && !s->mc->lim.halt_msg;
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
	s->lines_before = 0;
	return run_text(s, where, src, len, NULL);
}

/* ---- running a stream as it is read ---- */

/* A piece of a stream is run once it holds this much, cut between lines. */
#define STREAM_PIECE 65536

/* Whether a line continues the statement before it even with no bracket open:
 * a derivation's "= ..." line, a LaTeX alignment row or \end. */
static bool continues(const char *line, size_t n)
{
	size_t i = 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	return i < n && (line[i] == '=' || line[i] == '&' || line[i] == '\\');
}

static size_t count_lines(const char *t, size_t n)
{
	size_t k = 0;
	for (const char *p = t; (p = memchr(p, '\n', n - (size_t)(p - t))) != NULL; p++)
		k++;
	return k;
}

/* Buffered reading of whole lines, any bytes (NUL too), in bounded steps. */
struct reader {
	FILE *f;
	size_t pos, len;
	bool eof;
	char buf[65536];
};

/* Appends the next line, with its newline, to out, but stops once out holds more
 * than max bytes (0: no bound). False when the stream has nothing more. */
static bool read_line(struct reader *r, struct sbuf *out, size_t max)
{
	bool any = false;
	for (;;) {
		if (r->pos == r->len) {
			if (r->eof)
				return any;
			r->len = fread(r->buf, 1, sizeof r->buf, r->f);
			r->pos = 0;
			if (r->len < sizeof r->buf)
				r->eof = true;
			if (!r->len)
				return any;
		}
		any = true;
		const char *p = r->buf + r->pos;
		const char *nl = memchr(p, '\n', r->len - r->pos);
		size_t n = nl ? (size_t)(nl - p) + 1 : r->len - r->pos;
		sbuf_addn(out, p, n);
		r->pos += n;
		if (nl || (max && out->len > max))
			return true;
	}
}

/* Runs the pending text through run unless it ends inside a bracket (then
 * more is read first, except at the end). False on an error. */
static bool run_pending(struct session *s, struct sbuf *pending, bool at_end, session_piece_fn run,
			void *arg, bool *ran)
{
	*ran = false;
	if (!pending->len)
		return true;
	bool incomplete = false;
	bool ok = run(arg, pending->s, pending->len, at_end ? NULL : &incomplete);
	if (incomplete)
		return true;
	*ran = true;
	s->lines_before += (long)count_lines(pending->s, pending->len);
	pending->len = 0;
	return ok;
}

bool session_stream(struct session *s, const char *where, FILE *f, session_piece_fn run, void *arg,
		    char **error)
{
	struct sbuf why = {0};
	struct sbuf pending = {0}, line = {0};
	struct reader *r = mc_xmalloc(sizeof *r);
	r->f = f;
	r->pos = r->len = 0;
	r->eof = false;
	size_t lim = s->mc->lim.bounds.input, next_try = STREAM_PIECE;
	bool ok = true;
	s->lines_before = 0;
	for (;;) {
		line.len = 0;
		bool got = read_line(r, &line, lim);
		if (ferror(f)) {
			sbuf_printf(&why, "matcalc: error: cannot read %s: %s\n", where,
				    strerror(errno));
			ok = false;
			break;
		}
		if (!got)
			break;
		/* a piece runs before the next line once it is big enough, or when the
		 * line would take it past the input limit, unless the line continues it */
		bool full = pending.len >= next_try || (lim && pending.len + line.len > lim);
		if (full && !continues(line.s, line.len)) {
			bool ran;
			if (!run_pending(s, &pending, false, run, arg, &ran)) {
				ok = false;
				break;
			}
			/* a bracket still open: try again when twice as much is read */
			next_try = ran ? STREAM_PIECE : 2 * pending.len;
		}
		if (lim && pending.len + line.len > lim) {
			sbuf_printf(&why,
				    "matcalc: %s:%ld: error: a statement longer than the input "
				    "limit of %zu MB: --max-input MB raises it\n",
				    where, s->lines_before + 1, lim >> 20);
			ok = false;
			break;
		}
		sbuf_addn(&pending, line.s, line.len);
	}
	if (ok) {
		bool ran;
		ok = run_pending(s, &pending, true, run, arg, &ran);
	}
	s->lines_before = 0;
	free(r);
	sbuf_free(&pending);
	sbuf_free(&line);
	*error = why.s ? sbuf_take(&why) : NULL;
	return ok;
}

struct stream_run {
	struct session *s;
	const char *where;
};

static bool run_stream_piece(void *arg, const char *text, size_t len, bool *incomplete)
{
	struct stream_run *sr = arg;
	return run_text(sr->s, sr->where, text, len, incomplete);
}

bool session_run_stream(struct session *s, const char *where, FILE *f)
{
	struct stream_run sr = {s, where};
	char *error = NULL;
	bool ok = session_stream(s, where, f, run_stream_piece, &sr, &error);
	if (error) {
		fputs(error, s->err);
		s->status = 2;
		free(error);
	}
	return ok;
}

bool session_run_repl(struct session *s, const char *src, size_t len, bool *incomplete)
{
	*incomplete = false;
	return run_text(s, "<input>", src, len, incomplete);
}
