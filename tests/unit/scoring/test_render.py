import re

from scoring import render_html

PAYLOAD = 'Small effusion <script>alert(1)</script> "><img src=x onerror=alert(2)>'


def test_report_text_is_escaped_and_page_has_no_script(scorer):
    result = scorer.score(PAYLOAD, "Small effusion.")
    page = render_html(result, PAYLOAD, "Small effusion.")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    # the payload reads as text (our own entity marks may wrap words inside it)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in re.sub(r"<(/?mark)[^>]*>", "", page)
    assert not re.search(r"(src|href)=\"?https?:", page)


def test_entities_are_marked_with_their_category(scorer):
    prelim, final = "Left effusion.", "Right effusion. Pneumothorax."
    page = render_html(scorer.score(prelim, final), prelim, final)
    assert "mismatched: pleural effusion (laterality)" in page
    assert "missing: pneumothorax" in page
    assert page.count("<mark") == 3
