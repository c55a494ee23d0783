/* grade.h - batch grading: a problem file, one submission file per student, scores. */
#ifndef GRADE_H
#define GRADE_H

#include "session.h"

/* Grades each submission file against the problem file (formats in
 * docs/grading.md): prints a table of scores and the diagnosis of every answer
 * short of full marks (one JSON object per submission with --format=json),
 * and with s->gradescope_dir writes Gradescope's results.json (DIR/results.json
 * for one submission, DIR/<submission>/results.json for several). An
 * unreadable answer scores 0 and is reported as such; an unreadable
 * submission file is reported and the others are graded. False (s->status 2)
 * when the problem file cannot be used or a submission file cannot be read. */
bool grade_run(struct session *s, const char *problems, const char *const *subs, int nsubs);

#endif
