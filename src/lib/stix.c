/*
 * stix.c - (being written; see stix.h).
 */
#include "lib/stix.h"
