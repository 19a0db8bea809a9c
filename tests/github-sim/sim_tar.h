/* Why: GitHub's tarball layout made from a directory (see sim_tar.c).
 * Ownership: the caller owns out (initialised with a cap by the caller). */
#ifndef SIM_TAR_H
#define SIM_TAR_H

#include "sg_buf.h"
#include "sg_err.h"

/* Appends dir as "<owner>-<repo>-<sha7>/..." in a .tar.gz with a pax global header carrying sha. */
enum sg_err sim_tar_gz(const char *dir, const char *owner, const char *repo, const char *sha,
                       struct sg_buf *out);

#endif
