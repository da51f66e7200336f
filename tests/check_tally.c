/*
 * check_tally.c — the open connections' gauges, kept as records change.
 *
 * For now, the group table's removal, which the open verdict groups need.
 */
#include <string.h>

#include "analyzer/detectors/groups.h"
#include "tests/suites.h"

/* ---- the group table's removal ------------------------------------------------- */

struct gentry {
	struct cs_group_key k;
	uint32_t v;
};

/* Keys that differ in the port only, in a table of 16: they share home
 * slots and runs, so a removal must shift the right ones back. */
START_TEST(groups_remove)
{
	struct cs_groups g;
	struct cs_group_key k;

	cs_groups_init(&g, sizeof(struct gentry), 16);
	memset(&k, 0, sizeof k);
	for (uint16_t p = 0; p < 14; p++) {
		k.port = p;
		struct gentry *e = cs_groups_find(&g, &k, true);
		ck_assert_ptr_nonnull(e);
		e->v = 100u + p;
	}
	ck_assert_uint_eq(g.used, 14);
	for (uint16_t p = 0; p < 14; p += 3) {
		k.port = p;
		cs_groups_remove(&g, cs_groups_find(&g, &k, false));
	}
	ck_assert_uint_eq(g.used, 9);
	for (uint16_t p = 0; p < 14; p++) {
		k.port = p;
		struct gentry *e = cs_groups_find(&g, &k, false);
		if (p % 3 == 0) {
			ck_assert_ptr_null(e);
			continue;
		}
		ck_assert_msg(e != NULL, "port %u lost by a removal", p);
		ck_assert_uint_eq(e->v, 100u + p);
	}
	for (uint16_t p = 14; p < 19; p++) {	/* room again, up to 7/8 */
		k.port = p;
		ck_assert_ptr_nonnull(cs_groups_find(&g, &k, true));
	}
	cs_groups_fini(&g);
}
END_TEST

Suite *tally_suite(void)
{
	Suite *s = suite_create("tally");
	TCase *tc = tcase_create("groups");

	tcase_add_test(tc, groups_remove);
	suite_add_tcase(s, tc);
	return s;
}
