/*
 * misp.c - (being written; see misp.h).
 */
#include "lib/misp.h"
