/*
 * standalone.c - replays fuzzer inputs without libFuzzer.
 *
 * Linked with a fuzz_*.c target instead of -fsanitize=fuzzer, it feeds every
 * file named on the command line (directories are walked one level deep) to
 * LLVMFuzzerTestOneInput, so a corpus runs as an ordinary test and, in the
 * sanitizer build, under ASan and UBSan.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
run_file(const char *path)
{
	gchar *buf = NULL;
	gsize len = 0;
	GError *err = NULL;

	if (!g_file_get_contents(path, &buf, &len, &err)) {
		fprintf(stderr, "%s: %s\n", path, err->message);
		g_error_free(err);
		return 1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	g_free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int failures = 0, files = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
			GDir *d = g_dir_open(argv[i], 0, NULL);
			const char *name;

			while (d && (name = g_dir_read_name(d))) {
				char *p = g_build_filename(argv[i], name, NULL);

				if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
					failures += run_file(p);
					files++;
				}
				g_free(p);
			}
			if (d)
				g_dir_close(d);
		} else {
			failures += run_file(argv[i]);
			files++;
		}
	}
	printf("replayed %d inputs\n", files);
	return failures ? 1 : 0;
}
