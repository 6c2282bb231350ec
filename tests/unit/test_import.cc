// lib/import: the pieces every importer shares (case, the anomaly report,
// the held-out draw). The importers themselves are tested on fixtures in
// the published layouts by tests/cli/import.sh.
#define BOOST_TEST_MODULE import
#include <boost/test/unit_test.hpp>

#include "core/error.h"
#include "import/import.h"

using namespace sb::import;

BOOST_AUTO_TEST_CASE(case_modes_are_unicode_aware) {
  BOOST_TEST(apply_case("The Dog's CAFÉ", CaseMode::Lower) == "the dog's café");
  BOOST_TEST(apply_case("The Dog's café", CaseMode::Upper) == "THE DOG'S CAFÉ");
  BOOST_TEST(apply_case("MiXeD", CaseMode::Keep) == "MiXeD");
  BOOST_CHECK_THROW(case_mode_from_name("title"), sb::UsageError);
}

BOOST_AUTO_TEST_CASE(one_line_flattens_control_whitespace) {
  BOOST_TEST(one_line("  two\tgirls\nsmile \r") == "two girls smile");
}

BOOST_AUTO_TEST_CASE(report_names_the_first_five_then_counts) {
  Report r(false);
  for (int i = 0; i < 7; ++i) r.add("wavs without a caption", std::string(1, 'w').append(std::to_string(i)), "wavs/");
  r.add("captions without audio", "x", "wav2capt.txt: line 3");
  const auto lines = r.lines();
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_TEST(lines[0] == "7 wavs without a caption (skipped; first in wavs/): w0, w1, w2, w3, w4 and 2 more");
  BOOST_TEST(lines[1] == "1 captions without audio (skipped; first in wav2capt.txt: line 3): x");
  BOOST_TEST(r.total() == 8u);
}

BOOST_AUTO_TEST_CASE(strict_report_throws_at_the_first_item) {
  Report r(true);
  try {
    r.add("captions without audio", "F_0.wav", "wav2capt.txt: line 9");
    BOOST_FAIL("no error");
  } catch (const sb::Error& e) {
    BOOST_TEST(std::string(e.what()) ==
               "wav2capt.txt: line 9: captions without audio: F_0.wav (--strict makes every skip an error)");
  }
}

BOOST_AUTO_TEST_CASE(heldout_draw_is_reproducible_and_order_free) {
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back(std::string(1, 'u').append(std::to_string(i)));
  const auto a = choose_heldout(keys, 10, 7);
  std::vector<std::string> reversed(keys.rbegin(), keys.rend());
  BOOST_TEST(choose_heldout(reversed, 10, 7) == a);  // input order does not matter
  BOOST_TEST(a.size() == 10u);
  BOOST_TEST(std::is_sorted(a.begin(), a.end()));
  BOOST_TEST(choose_heldout(keys, 10, 8) != a);       // another seed, another draw
  BOOST_TEST(choose_heldout(keys, 200, 7).size() == 100u);
}
