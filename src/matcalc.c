/* matcalc.c - the public API (matcalc.h) on top of the session: results as data, never printed. */
#include "matcalc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cblas.h>

#include "command.h"
#include "derivation.h"
#include "grade.h"
#include "verify.h"
#include "config.h"
#include "diff.h"
#include "emit.h"
#include "options.h"
#include "print.h"
#include "rewrite.h"
#include "statement.h"
#include "value.h"

struct matcalc_result {
	int status;
	int verdict;
	char *statement, *output, *report, *errmsg; /* owned */
	int line, column;
	struct matcalc *m;
	struct expr *expr; /* the statement's result, NULL when none */
	char *plain, *latex; /* made on demand, owned */
	/* a check's verdict beyond holds/fails (src/verify.h), owned or NULL */
	char *diagnosis, *correct, *correct_latex;
	int link, nlinks;
};

struct matcalc {
	struct session *s;
	/* the session prints into these while the library runs it */
	FILE *out, *err;
	char *outbuf, *errbuf;
	size_t outlen, errlen;
	/* the last session-level error */
	struct sbuf errmsg;
	int errline, errcol;
	struct sbuf optval; /* matcalc_get_option's answer */
	/* the text started, and where it stands */
	char *where, *text;
	size_t len;
	struct session_text t;
	bool have_text;
	bool syntax_error; /* the text did not parse: its one result is pending */
	struct matcalc_result res;
};

/* ---- version ---- */

const char *matcalc_version(void) { return MATCALC_VERSION_STRING; }

int matcalc_version_number(void) { return MATCALC_VERSION_NUMBER; }

/* ---- helpers ---- */

static void result_clear(struct matcalc_result *r)
{
	free(r->statement);
	free(r->output);
	free(r->report);
	free(r->errmsg);
	free(r->plain);
	free(r->latex);
	free(r->diagnosis);
	free(r->correct);
	free(r->correct_latex);
	memset(r, 0, sizeof *r);
}

static char *strndup_or_empty(const char *s, size_t n)
{
	char *c = mc_xmalloc(n + 1);
	if (n)
		memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/* The session prints into memory from here to capture_end. */
static void capture_begin(struct matcalc *m)
{
	free(m->outbuf);
	free(m->errbuf);
	m->outbuf = m->errbuf = NULL;
	m->outlen = m->errlen = 0;
	m->out = open_memstream(&m->outbuf, &m->outlen);
	m->err = open_memstream(&m->errbuf, &m->errlen);
	if (!m->out || !m->err)
		mc_out_of_memory(0);
	m->s->out = m->out;
	m->s->err = m->err;
}

/* Ends the capture: m->outbuf and m->errbuf hold what was printed (owned by m). */
static void capture_end(struct matcalc *m)
{
	fclose(m->out);
	fclose(m->err);
	m->out = m->err = NULL;
	m->s->out = m->s->err = NULL;
	if (!m->outbuf)
		m->outbuf = mc_xstrdup("");
	if (!m->errbuf)
		m->errbuf = mc_xstrdup("");
}

static void set_error(struct matcalc *m, const char *msg, int line, int col)
{
	m->errmsg.len = 0;
	sbuf_add(&m->errmsg, msg);
	m->errline = line;
	m->errcol = col;
}

static void clear_error(struct matcalc *m) { set_error(m, "", 0, 0); }

/* A report "matcalc: WHERE:L:C: error: MSG\n..." without its "matcalc: " */
static const char *unprefixed(const char *report)
{
	return strncmp(report, "matcalc: ", 9) == 0 ? report + 9 : report;
}

/* ---- sessions ---- */

struct matcalc *matcalc_open(void)
{
	/* OpenBLAS's worker threads wait for work by spinning, taking a core from
	 * every matcalc process even when it only does algebra; one thread unless
	 * the user asks for more (OPENBLAS_NUM_THREADS) */
	static bool threads_set;
	if (!threads_set) {
		if (!getenv("OPENBLAS_NUM_THREADS"))
			openblas_set_num_threads(1);
		/* OpenBLAS maps its work buffer at the first product that needs one and
		 * keeps it; when that mapping fails (ulimit -v, memory short) it retries
		 * forever. Taking the buffer now, while memory is there, leaves later
		 * failures to malloc, which is an error (exit 2), not a hang (issue 9). */
		/* The buffer is 128 MB (Debian's build): where there is no room for
		 * it, say so now instead of hanging in the first product. */
		size_t room = (size_t)136 << 20;
		void *probe = mmap(NULL, room, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (probe == MAP_FAILED)
			return NULL;
		munmap(probe, room);
		double a[64 * 64] = {0}, c[64 * 64];
		cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, 64, 64, 64, 1, a, 64, a, 64, 0,
			    c, 64);
	}
	threads_set = true;
	struct matcalc *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->s = session_new(NULL, NULL);
	const char *env = getenv("MATCALC_RULES");
	if (env && *env) /* set but empty: the default, as if unset */
		m->s->rules_dir = mc_strdup(m->s->mc, env);
	clear_error(m);
	return m;
}

static void drop_text(struct matcalc *m)
{
	if (m->have_text)
		session_text_free(&m->t);
	m->have_text = false;
	m->syntax_error = false;
	free(m->where);
	free(m->text);
	m->where = m->text = NULL;
	m->len = 0;
}

void matcalc_close(struct matcalc *m)
{
	if (!m)
		return;
	drop_text(m);
	result_clear(&m->res);
	session_free(m->s);
	free(m->outbuf);
	free(m->errbuf);
	sbuf_free(&m->errmsg);
	sbuf_free(&m->optval);
	free(m);
}

void matcalc_free(void *p) { free(p); }

void matcalc_interrupt(void) { limit_interrupt(); }

const char *matcalc_errmsg(const struct matcalc *m)
{
	return m && m->errmsg.s ? m->errmsg.s : "";
}

int matcalc_errline(const struct matcalc *m) { return m ? m->errline : 0; }

int matcalc_errcol(const struct matcalc *m) { return m ? m->errcol : 0; }

/* Loads the rules inside a capture; false with the report in m's error. */
static bool load_rules(struct matcalc *m)
{
	if (m->s->rules)
		return true;
	capture_begin(m);
	bool ok = rules_load(m->s);
	capture_end(m);
	if (!ok && !m->errbuf[0] && mc_failed(m->s->mc))
		/* tried before and failed: the report was given then */
		set_error(m, m->s->mc->err.msg, 0, 0);
	else if (!ok)
		set_error(m, m->errbuf, 0, 0);
	mc_clear_error(m->s->mc);
	return ok;
}

int matcalc_load_rules(struct matcalc *m)
{
	if (!m)
		return MATCALC_MISUSE;
	clear_error(m);
	return load_rules(m) ? MATCALC_OK : MATCALC_ERROR;
}

/* ---- options ---- */

int matcalc_option_arity(const char *name) { return name ? options_arity(name) : -1; }

int matcalc_set_option(struct matcalc *m, const char *name, const char *value)
{
	if (!m || !name)
		return MATCALC_MISUSE;
	clear_error(m);
	struct sbuf msg = {0};
	bool ok = options_set(m->s, name, value, &msg);
	if (!ok)
		set_error(m, msg.s ? msg.s : "bad option", 0, 0);
	sbuf_free(&msg);
	return ok ? MATCALC_OK : MATCALC_MISUSE;
}

const char *matcalc_get_option(struct matcalc *m, const char *name)
{
	if (!m || !name)
		return NULL;
	m->optval.len = 0;
	sbuf_add(&m->optval, "");
	return options_get(m->s, name, &m->optval) ? m->optval.s : NULL;
}

char *matcalc_options_help(void)
{
	struct sbuf b = {0};
	sbuf_add(&b, "");
	options_help(&b);
	return sbuf_take(&b);
}

/* ---- running statements ---- */

int matcalc_start(struct matcalc *m, const char *where, const char *text, size_t len, int partial)
{
	if (!m || !text)
		return MATCALC_MISUSE;
	drop_text(m);
	result_clear(&m->res);
	clear_error(m);
	m->where = mc_xstrdup(where ? where : "<text>");
	m->text = strndup_or_empty(text, len);
	m->len = len;
	bool incomplete = false;
	capture_begin(m);
	bool ok = session_parse(m->s, &m->t, m->where, m->text, m->len,
				partial ? &incomplete : NULL);
	capture_end(m);
	m->have_text = true;
	if (incomplete) {
		drop_text(m);
		return MATCALC_INCOMPLETE;
	}
	if (!ok) {
		/* the syntax error is the text's one result */
		m->syntax_error = true;
		struct matcalc_result *r = &m->res;
		r->status = MATCALC_ERROR;
		r->verdict = -1;
		r->statement = mc_xstrdup("");
		r->output = mc_xstrdup(m->outbuf);
		r->report = mc_xstrdup(m->errbuf);
		r->errmsg = mc_xstrdup(m->s->error_msg ? m->s->error_msg : "syntax error");
		loc_linecol(m->text, m->len, m->s->error_loc.first, &r->line, &r->column);
		r->line += (int)m->s->lines_before; /* a piece of a stream */
		r->m = m;
	}
	return MATCALC_OK;
}

static bool is_verdict_statement(const struct syn *st)
{
	if (st->kind != STMT_EXPR || st->n < 1)
		return false;
	const struct syn *c = st->kids[0];
	return c->kind == SYN_CALL &&
	       (strcmp(c->name, "check") == 0 || strcmp(c->name, "gradcheck") == 0);
}

const struct matcalc_result *matcalc_next(struct matcalc *m)
{
	if (!m || !m->have_text)
		return NULL;
	if (m->syntax_error) {
		/* returned once, then the text is over */
		m->syntax_error = false;
		m->t.stopped = true;
		return &m->res;
	}
	result_clear(&m->res);
	if (m->t.stopped || m->t.next >= m->t.p.nitems)
		return NULL;
	struct matcalc_result *r = &m->res;
	r->m = m;
	r->verdict = -1;
	if (!load_rules(m)) {
		m->t.stopped = true;
		r->status = MATCALC_ERROR;
		r->statement = mc_xstrdup("");
		r->output = mc_xstrdup("");
		r->report = mc_xstrdup(m->errmsg.s);
		r->errmsg = mc_xstrdup(unprefixed(m->errmsg.s));
		return r;
	}
	struct session *s = m->s;
	int before = s->status;
	s->status = 0;
	free(s->error_msg);
	s->error_msg = NULL;
	/* the session's text pointers may have been left by another call */
	s->where = m->where;
	s->src = m->text;
	s->srclen = m->len;
	const struct syn *st = NULL;
	capture_begin(m);
	bool ok = session_run_next(s, &m->t, &st);
	capture_end(m);
	r->status = !ok ? MATCALC_ERROR : s->status == 1 ? MATCALC_FAILED : MATCALC_OK;
	if (s->status < before)
		s->status = before;
	if (!st)
		return NULL;
	int first = st->loc.first < 0 ? 0 : st->loc.first;
	int last = st->loc.last < first ? first : st->loc.last > (int)m->len ? (int)m->len : st->loc.last;
	r->statement = strndup_or_empty(m->text + first, (size_t)(last - first));
	r->output = mc_xstrdup(m->outbuf);
	if (!ok) {
		r->report = mc_xstrdup(m->errbuf);
		r->errmsg = mc_xstrdup(s->error_msg ? s->error_msg : "statement failed");
		loc_linecol(m->text, m->len, s->error_loc.first, &r->line, &r->column);
		r->line += (int)s->lines_before; /* a piece of a stream */
	} else {
		r->expr = s->result;
		if (is_verdict_statement(st))
			r->verdict = r->status == MATCALC_OK;
		const struct verify_report *v = s->check;
		if (r->verdict >= 0 && v && v->done && strcmp(st->kids[0]->name, "check") == 0) {
			r->diagnosis = v->diagnosis ? mc_xstrdup(v->diagnosis) : NULL;
			r->correct = v->correct ? mc_xstrdup(v->correct) : NULL;
			r->correct_latex = v->correct_latex ? mc_xstrdup(v->correct_latex) : NULL;
			r->link = v->link;
			r->nlinks = v->nlinks;
		}
	}
	s->result = NULL;
	return r;
}

int matcalc_run(struct matcalc *m, const char *where, const char *text, size_t len,
		matcalc_result_fn fn, void *arg)
{
	int rc = matcalc_start(m, where, text, len, 0);
	if (rc != MATCALC_OK)
		return rc;
	const struct matcalc_result *r;
	while ((r = matcalc_next(m)) != NULL) {
		if (r->status > rc)
			rc = r->status;
		if (fn)
			fn(arg, r);
	}
	return rc;
}

struct stream_run {
	struct matcalc *m;
	const char *where;
	matcalc_result_fn fn;
	void *arg;
	int rc;
};

/* One piece of the stream: started (as a partial text unless it is the last)
 * and run to its end or its first error. */
static bool stream_piece(void *arg, const char *text, size_t len, bool *incomplete)
{
	struct stream_run *sr = arg;
	int rc = matcalc_start(sr->m, sr->where, text, len, incomplete != NULL);
	if (rc == MATCALC_INCOMPLETE) {
		*incomplete = true;
		return true;
	}
	if (rc != MATCALC_OK)
		return false;
	bool ok = true;
	const struct matcalc_result *r;
	while ((r = matcalc_next(sr->m)) != NULL) {
		if (r->status > sr->rc)
			sr->rc = r->status;
		if (r->status == MATCALC_ERROR)
			ok = false;
		if (sr->fn)
			sr->fn(sr->arg, r);
	}
	return ok;
}

int matcalc_run_stream(struct matcalc *m, const char *where, FILE *f, matcalc_result_fn fn,
		       void *arg)
{
	if (!m || !f)
		return MATCALC_MISUSE;
	struct stream_run sr = {m, where ? where : "<stream>", fn, arg, MATCALC_OK};
	char *error = NULL;
	session_stream(m->s, sr.where, f, stream_piece, &sr, &error);
	if (error) {
		/* the stream's own error is one more result */
		drop_text(m);
		result_clear(&m->res);
		struct matcalc_result *r = &m->res;
		r->m = m;
		r->status = MATCALC_ERROR;
		r->verdict = -1;
		r->statement = mc_xstrdup("");
		r->output = mc_xstrdup("");
		r->report = error;
		r->errmsg = mc_xstrdup(unprefixed(error));
		sr.rc = MATCALC_ERROR;
		if (fn)
			fn(arg, r);
	}
	return sr.rc;
}

int matcalc_result_status(const struct matcalc_result *r) { return r ? r->status : MATCALC_MISUSE; }

const char *matcalc_result_statement(const struct matcalc_result *r)
{
	return r && r->statement ? r->statement : "";
}

const char *matcalc_result_output(const struct matcalc_result *r)
{
	return r && r->output ? r->output : "";
}

static const char *result_form(const struct matcalc_result *r, enum print_style style)
{
	if (!r || !r->expr)
		return NULL;
	struct matcalc_result *w = (struct matcalc_result *)r; /* made once, on demand */
	char **slot = style == PRINT_LATEX ? &w->latex : &w->plain;
	if (!*slot)
		*slot = print_str(r->m->s->mc, r->expr, style);
	return *slot;
}

const char *matcalc_result_plain(const struct matcalc_result *r)
{
	return result_form(r, PRINT_PLAIN);
}

const char *matcalc_result_latex(const struct matcalc_result *r)
{
	return result_form(r, PRINT_LATEX);
}

int matcalc_result_verdict(const struct matcalc_result *r) { return r ? r->verdict : -1; }

const char *matcalc_result_errmsg(const struct matcalc_result *r) { return r ? r->errmsg : NULL; }

int matcalc_result_line(const struct matcalc_result *r) { return r ? r->line : 0; }

int matcalc_result_column(const struct matcalc_result *r) { return r ? r->column : 0; }

const char *matcalc_result_report(const struct matcalc_result *r) { return r ? r->report : NULL; }

static void json_string(struct sbuf *b, const char *s)
{
	sbuf_add(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			sbuf_add(b, "\\\"");
			break;
		case '\\':
			sbuf_add(b, "\\\\");
			break;
		case '\n':
			sbuf_add(b, "\\n");
			break;
		case '\t':
			sbuf_add(b, "\\t");
			break;
		case '\r':
			sbuf_add(b, "\\r");
			break;
		default:
			if (*p < 0x20)
				sbuf_printf(b, "\\u%04x", *p);
			else
				sbuf_addn(b, (const char *)p, 1);
		}
	}
	sbuf_add(b, "\"");
}

char *matcalc_result_json(const struct matcalc_result *r)
{
	if (!r)
		return NULL;
	static const char *const names[] = {"ok", "failed", "error"};
	struct sbuf b = {0};
	sbuf_add(&b, "{\"statement\": ");
	json_string(&b, matcalc_result_statement(r));
	sbuf_printf(&b, ", \"status\": \"%s\"", names[r->status < 3 ? r->status : 2]);
	sbuf_add(&b, ", \"output\": ");
	json_string(&b, matcalc_result_output(r));
	const char *plain = matcalc_result_plain(r), *latex = matcalc_result_latex(r);
	if (plain) {
		sbuf_add(&b, ", \"plain\": ");
		json_string(&b, plain);
	}
	if (latex) {
		sbuf_add(&b, ", \"latex\": ");
		json_string(&b, latex);
	}
	if (r->verdict >= 0)
		sbuf_printf(&b, ", \"verdict\": \"%s\"", r->verdict ? "holds" : "fails");
	if (r->nlinks > 1 && r->link > 0)
		sbuf_printf(&b, ", \"link\": %d, \"links\": %d", r->link, r->nlinks);
	if (r->diagnosis) {
		sbuf_add(&b, ", \"diagnosis\": ");
		json_string(&b, r->diagnosis);
	}
	if (r->correct) {
		sbuf_add(&b, ", \"correct\": ");
		json_string(&b, r->correct);
		sbuf_add(&b, ", \"correct_latex\": ");
		json_string(&b, r->correct_latex);
	}
	if (r->errmsg) {
		sbuf_add(&b, ", \"error\": {\"message\": ");
		json_string(&b, r->errmsg);
		sbuf_printf(&b, ", \"line\": %d, \"column\": %d}", r->line, r->column);
	}
	sbuf_add(&b, "}");
	return sbuf_take(&b);
}

/* ---- one-call operations ---- */

/* Parses text as one expression statement into m's text; returns it, or NULL
 * with m's error set (message, line, column in text). */
static const struct syn *one_expression(struct matcalc *m, const char *where, const char *text)
{
	clear_error(m);
	drop_text(m);
	result_clear(&m->res);
	if (!load_rules(m))
		return NULL;
	m->where = mc_xstrdup(where);
	m->text = mc_xstrdup(text);
	m->len = strlen(text);
	capture_begin(m);
	bool ok = session_parse(m->s, &m->t, m->where, m->text, m->len, NULL);
	capture_end(m);
	m->have_text = true;
	if (!ok) {
		int line, col;
		loc_linecol(m->text, m->len, m->s->error_loc.first, &line, &col);
		set_error(m, m->s->error_msg ? m->s->error_msg : "syntax error", line, col);
		return NULL;
	}
	if (m->t.p.nitems != 1 || m->t.p.items[0]->kind != STMT_EXPR) {
		set_error(m, "expected one expression", 1, 1);
		return NULL;
	}
	return m->t.p.items[0]->kids[0];
}

/* Takes the session's error (mc's) into m's error; returns MATCALC_ERROR. */
static int take_error(struct matcalc *m, struct loc fallback)
{
	struct mc *mc = m->s->mc;
	struct loc at = mc->err.has_loc ? mc->err.loc : fallback;
	int line, col;
	loc_linecol(m->text, m->len, at.first, &line, &col);
	set_error(m, mc->err.msg ? mc->err.msg : "failed", line, col);
	mc_clear_error(mc);
	return MATCALC_ERROR;
}

/* Resolves and works out one expression, the way a statement of it would be
 * (without printing steps). *call receives the node before derivation. */
static struct expr *work_out(struct matcalc *m, const struct syn *n, struct expr **call)
{
	struct session *s = m->s;
	struct expr *e = session_resolve(s, n);
	if (!e)
		return NULL;
	*call = e;
	s->shape_hint = e;
	bool steps = s->steps;
	s->steps = false;
	rewrite_memo_clear(s);
	e = (e->flags & EF_HAS_OP) ? command_derive(s, e, n->loc) : diff_simplify(s, e);
	rewrite_memo_clear(s);
	s->steps = steps;
	return e;
}

/* Generates code into *code; false with the error in s->mc. */
static bool emit_to_string(struct matcalc *m, struct expr *call, struct expr *e,
			   enum matcalc_form form, char **code)
{
	struct session *s = m->s;
	bool numpy = s->emit_numpy, c = s->emit_c;
	s->emit_numpy = form == MATCALC_NUMPY;
	s->emit_c = form == MATCALC_C;
	capture_begin(m);
	bool ok = emit_statement(s, call, e, m->out);
	capture_end(m);
	s->emit_numpy = numpy;
	s->emit_c = c;
	if (ok)
		*code = mc_xstrdup(m->outbuf);
	return ok;
}

int matcalc_derive(struct matcalc *m, const char *text, enum matcalc_form form, char **out)
{
	if (!m || !text || !out || form < MATCALC_PLAIN || form > MATCALC_C)
		return MATCALC_MISUSE;
	*out = NULL;
	const struct syn *n = one_expression(m, "derive", text);
	if (!n)
		return MATCALC_ERROR;
	struct expr *call = NULL;
	struct expr *e = work_out(m, n, &call);
	if (e && (form == MATCALC_PLAIN || form == MATCALC_LATEX))
		*out = print_str(m->s->mc, e, form == MATCALC_LATEX ? PRINT_LATEX : PRINT_PLAIN);
	else if (e && !emit_to_string(m, call, e, form, out))
		e = NULL;
	return e ? MATCALC_OK : take_error(m, n->loc);
}

int matcalc_emit(struct matcalc *m, const char *text, enum matcalc_form form, char **code)
{
	if (form != MATCALC_NUMPY && form != MATCALC_C)
		return MATCALC_MISUSE;
	return matcalc_derive(m, text, form, code);
}

int matcalc_eval(struct matcalc *m, const char *text, double **values, long *rows, long *cols)
{
	if (!m || !text || !values || !rows || !cols)
		return MATCALC_MISUSE;
	*values = NULL;
	*rows = *cols = 0;
	const struct syn *n = one_expression(m, "eval", text);
	if (!n)
		return MATCALC_ERROR;
	struct expr *call = NULL;
	struct expr *e = work_out(m, n, &call);
	struct value *v = e ? command_value(m->s, e) : NULL;
	if (!v)
		return take_error(m, n->loc);
	size_t count = (size_t)(v->rows * v->cols);
	*values = mc_xmalloc(count ? count * sizeof **values : 1);
	if (count)
		memcpy(*values, v->data, count * sizeof **values);
	*rows = v->rows;
	*cols = v->cols;
	value_free(v);
	return MATCALC_OK;
}

int matcalc_check(struct matcalc *m, const char *equation, char **report)
{
	if (!m || !equation)
		return MATCALC_MISUSE;
	if (report)
		*report = NULL;
	/* run as the statement check(...) would be; columns are the equation's */
	static const char prefix[] = "check(";
	struct sbuf b = {0};
	sbuf_add(&b, prefix);
	sbuf_add(&b, equation);
	sbuf_add(&b, ")");
	int rc = matcalc_start(m, "check", b.s, b.len, 0);
	sbuf_free(&b);
	if (rc != MATCALC_OK)
		return rc;
	if (!m->syntax_error && m->t.p.nitems != 1) {
		set_error(m, "expected one equation", 1, 1);
		return MATCALC_MISUSE;
	}
	const struct matcalc_result *r = matcalc_next(m);
	if (r->status == MATCALC_ERROR) {
		int col = r->column;
		if (r->line == 1)
			col = col > (int)sizeof prefix - 1 ? col - ((int)sizeof prefix - 1) : 1;
		set_error(m, r->errmsg, r->line, col);
	} else if (report) {
		*report = mc_xstrdup(r->output);
	}
	return r->status;
}

int matcalc_reset(struct matcalc *m)
{
	if (!m)
		return MATCALC_MISUSE;
	drop_text(m);
	result_clear(&m->res);
	clear_error(m);
	struct session *old = m->s, *s = session_new(NULL, NULL);
	options_copy(s, old);
	session_free(old);
	m->s = s;
	return MATCALC_OK;
}

/* ---- grading ---- */

/* Runs fn in the session with its printing captured into *out and *errors. */
static int run_captured(struct matcalc *m, bool (*fn)(struct session *, void *), void *arg,
			char **out, char **errors)
{
	if (out)
		*out = NULL;
	if (errors)
		*errors = NULL;
	clear_error(m);
	drop_text(m);
	result_clear(&m->res);
	if (!load_rules(m))
		return MATCALC_ERROR;
	struct session *s = m->s;
	int before = s->status;
	s->status = 0;
	capture_begin(m);
	fn(s, arg);
	capture_end(m);
	int rc = s->status >= 2 ? MATCALC_ERROR : s->status == 1 ? MATCALC_FAILED : MATCALC_OK;
	if (s->status < before)
		s->status = before;
	if (out)
		*out = mc_xstrdup(m->outbuf);
	if (errors)
		*errors = mc_xstrdup(m->errbuf);
	return rc;
}

struct derivation_args {
	const char *where, *text;
	size_t len;
};

static bool run_derivation(struct session *s, void *arg)
{
	const struct derivation_args *a = arg;
	return derivation_check(s, a->where, a->text, a->len);
}

int matcalc_check_derivation(struct matcalc *m, const char *where, const char *text, size_t len,
			     char **out, char **errors)
{
	if (!m || !text)
		return MATCALC_MISUSE;
	struct derivation_args a = {where ? where : "<derivation>", text, len};
	return run_captured(m, run_derivation, &a, out, errors);
}

struct grade_args {
	const char *problems;
	const char *const *subs;
	int n;
};

static bool run_grade(struct session *s, void *arg)
{
	const struct grade_args *a = arg;
	return grade_run(s, a->problems, a->subs, a->n);
}

int matcalc_grade(struct matcalc *m, const char *problems, const char *const *submissions,
		  int nsubmissions, char **out, char **errors)
{
	if (!m || !problems || (nsubmissions && !submissions) || nsubmissions < 0)
		return MATCALC_MISUSE;
	struct grade_args a = {problems, submissions, nsubmissions};
	return run_captured(m, run_grade, &a, out, errors);
}

/* ---- introspection ---- */

/* "matrix(n, m)", "symmetric matrix(n, n)", "vector(n)", "scalar": as a let would say it. */
static void describe_decl(struct mc *mc, struct sbuf *b, const struct decl *d)
{
	char rows[64], cols[64];
	dim_print(mc, d->rows, rows, sizeof rows);
	dim_print(mc, d->cols, cols, sizeof cols);
	switch (d->kind) {
	case KIND_SCALAR:
		sbuf_add(b, "scalar");
		break;
	case KIND_VECTOR:
		sbuf_printf(b, "vector(%s)", rows);
		break;
	case KIND_MATRIX:
		if (d->spd)
			sbuf_add(b, "spd ");
		else if (d->symmetric)
			sbuf_add(b, "symmetric ");
		sbuf_printf(b, "matrix(%s, %s)", rows, cols);
		break;
	}
}

char *matcalc_describe_names(struct matcalc *m)
{
	if (!m)
		return NULL;
	struct session *s = m->s;
	struct sbuf out = {0};
	sbuf_add(&out, "");
	if (s->ndecls == 0 && s->ndefs == 0) {
		sbuf_add(&out, "no names yet: declare one with let X : matrix(n, m)\n");
		return sbuf_take(&out);
	}
	for (int i = 0; i < s->ndecls; i++) {
		const struct decl *d = s->decls[i];
		print_name(s->mc, &out, d->name);
		sbuf_add(&out, " : ");
		describe_decl(s->mc, &out, d);
		const struct value *v = value_of(s, d);
		/* a big value would flood the listing; its shape is already shown */
		if (v && v->rows * v->cols <= 16) {
			sbuf_add(&out, " = ");
			value_print(s, &out, v);
		} else if (v) {
			sbuf_add(&out, " (has a value)");
		}
		if (d->implicit)
			sbuf_add(&out, "  (implicit)");
		sbuf_add(&out, "\n");
	}
	for (int i = 0; i < s->ndefs; i++) {
		print_name(s->mc, &out, s->defs[i].name);
		char *e = print_str(s->mc, s->defs[i].e, PRINT_PLAIN);
		sbuf_printf(&out, " = %s\n", e);
		free(e);
	}
	return sbuf_take(&out);
}

int matcalc_list_rules(struct matcalc *m, const char *pattern, char **out)
{
	if (!m || !out)
		return MATCALC_MISUSE;
	*out = NULL;
	clear_error(m);
	if (!load_rules(m))
		return MATCALC_ERROR;
	capture_begin(m);
	command_list_rules_matching(m->s, pattern);
	capture_end(m);
	*out = mc_xstrdup(m->outbuf);
	return MATCALC_OK;
}

struct names_arg {
	struct mc *mc;
	void (*fn)(void *, const char *);
	void *arg;
};

/* A name, and its ASCII spelling for a Greek one (theta means θ). */
static void name_and_ascii(void *arg, const char *name)
{
	struct names_arg *a = arg;
	a->fn(a->arg, name);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p >= 0x80) {
			struct sbuf b = {0};
			bool was = a->mc->ascii;
			a->mc->ascii = true;
			print_name(a->mc, &b, name);
			a->mc->ascii = was;
			if (b.s)
				a->fn(a->arg, b.s);
			sbuf_free(&b);
			break;
		}
}

void matcalc_names(struct matcalc *m, void (*fn)(void *arg, const char *name), void *arg)
{
	if (!m || !fn)
		return;
	struct names_arg a = {m->s->mc, fn, arg};
	session_names(m->s, name_and_ascii, &a);
}
