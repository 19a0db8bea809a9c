/* Why: the decisions about which files are analysed at all, apart from the session that applies
 * them: default excludes (vendored trees, lock files, generated and minified files) and the
 * repository's own `exclude` and `languages` settings. */
#ifndef AN_CLASSIFY_H
#define AN_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "an_internal.h"

bool an_is_vendored(const char *path); /* under vendor/, node_modules/, third_party/, ... */
bool an_is_lockfile(const char *path); /* a package manager's lock file */
/* Announces itself as generated near the top ("DO NOT EDIT", "@generated", ...). */
bool an_is_generated(const unsigned char *d, size_t n);
/* *.min.js / *.min.css, or JavaScript / CSS whose lines average over 300 bytes. */
bool an_is_minified(const char *path, const struct an_lang *L, const unsigned char *d, size_t n);
/* Excluded by the configuration's `exclude` globs or its `languages` allow-list (lang -1: not
 * yet known, only the globs apply). */
bool an_excluded(const struct an_config *c, const char *path, int lang);

#endif
