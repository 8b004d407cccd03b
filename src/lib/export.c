/*
 * export.c - (being written; see export.h).
 */
#include "lib/export.h"
