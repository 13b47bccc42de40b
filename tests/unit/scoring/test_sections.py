from scoring.sections import split_sections


def test_no_headings_is_one_report_section():
    text = "Mild cardiomegaly. No effusion."
    assert [(s.name, s.start, s.end) for s in split_sections(text)] == [("report", 0, len(text))]


def test_findings_and_impression_are_found_and_other_sections_ignored():
    text = ("INDICATION: cough\nFINDINGS: Small left effusion.\n"
            "COMPARISON: none\nIMPRESSION: Effusion.")
    sections = split_sections(text)
    assert [s.name for s in sections] == ["findings", "impression"]
    assert text[sections[0].start:sections[0].end].strip() == "Small left effusion."
    assert text[sections[1].start:sections[1].end].strip() == "Effusion."


def test_heading_variants_map_to_impression():
    text = "Findings: Clear lungs.\nConclusion: Normal chest."
    assert [s.name for s in split_sections(text)] == ["findings", "impression"]


def test_empty_section_is_dropped_and_blank_text_has_none():
    assert [s.name for s in split_sections("FINDINGS:\nIMPRESSION: Clear.")] == ["impression"]
    assert split_sections("   ") == []
