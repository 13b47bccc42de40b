"""The lexicon NER on real text through the real spaCy + medspaCy pipeline."""

import pytest

from scoring.ner import LexiconNer
from scoring.sections import split_sections


@pytest.fixture(scope="module")
def ner():
    return LexiconNer()


def mentions(ner, text):
    return {m.concept: m for m in ner.extract(text, split_sections(text))}


def test_negation_and_list_of_negated_findings(ner):
    found = mentions(ner, "No pneumothorax, pleural effusion or focal consolidation.")
    assert {found[c].polarity for c in ("pneumothorax", "pleural_effusion", "consolidation")} \
        == {"absent"}


def test_negation_does_not_leak_past_the_clause(ner):
    found = mentions(ner, "No pneumothorax. There is mild cardiomegaly.")
    assert found["pneumothorax"].polarity == "absent"
    assert found["cardiomegaly"].polarity == "present"


def test_no_change_is_not_a_negation(ner):
    found = mentions(ner, "No change in the small left pleural effusion.")
    effusion = found["pleural_effusion"]
    assert effusion.polarity == "present"
    assert effusion.change == "stable"
    assert effusion.laterality == "left"


def test_uncertainty_triggers(ner):
    assert mentions(ner, "Opacity may represent pneumonia.")["pneumonia"].polarity == "possible"
    assert mentions(ner, "Pneumothorax cannot be excluded.")["pneumothorax"].polarity \
        == "possible"


@pytest.mark.parametrize("hedge", ["likely representing", "possibly representing",
                                   "suggestive of", "favored to represent", "presumably"])
def test_hedges_of_one_strength_read_alike(ner, hedge):
    # "likely representing" and "suggestive of" are one rung of the certainty ladder: an
    # attending who writes one for the other changes no certainty
    text = f"Heterogeneous right paratracheal mass, {hedge} necrotic lymphadenopathy."
    assert mentions(ner, text)["lymphadenopathy"].polarity == "possible"


def test_a_finding_after_a_comma_is_not_a_word_of_the_next(ner):
    # the parse hangs "fluid" on "hemopericardium" across the comma; it is a finding of its own
    found = mentions(ner, "The pericardium is full of dense fluid, likely hemopericardium.")
    assert "fluid" in found and found["fluid"].polarity == "present"


def test_a_structures_name_is_no_finding_and_does_not_take_the_side(ner):
    # "lateral mass" names a part of C1: the fracture has the side
    found = mentions(ner, "Minimally displaced fracture of the left lateral mass of the atlas.")
    assert found["fracture"].laterality == "left"
    assert not [c for c, m in found.items() if "mass" in m.text.lower()]


def test_a_participle_before_a_finding_describes_it(ner):
    # "small homogeneously enhancing lesion": the size word belongs to the lesion
    found = mentions(ner, "Small homogeneously enhancing lesion based in the dura.")
    assert found["lesion"].severity is not None
    assert "enhancement" not in found


def test_gap_pattern_keeps_its_negation(ner):
    found = mentions(ner, "The heart is not enlarged.")
    assert found["cardiomegaly"].polarity == "absent"
    found = mentions(ner, "The cardiac silhouette is mildly enlarged.")
    assert found["cardiomegaly"].polarity == "present"
    assert found["cardiomegaly"].severity == 2


def test_abbreviation_gives_side_and_lobe(ner):
    found = mentions(ner, "RLL consolidation.")
    assert found["consolidation"].laterality == "right"
    assert ner.vocabulary.within(found["consolidation"].anatomy, "RA:lower_lobe")


def test_qualifiers_go_to_the_nearest_finding(ner):
    found = mentions(ner, "Small right pleural effusion and left lower lobe atelectasis.")
    assert found["pleural_effusion"].laterality == "right"
    assert found["pleural_effusion"].severity == 2
    assert found["atelectasis"].laterality == "left"
    assert ner.vocabulary.within(found["atelectasis"].anatomy, "RA:lower_lobe")


def test_size_in_cm_and_mm_agree(ner):
    cm = mentions(ner, "A 1.5 cm nodule in the right upper lobe.")["nodule"]
    mm = mentions(ner, "A 15 mm nodule in the right upper lobe.")["nodule"]
    assert cm.size_mm == mm.size_mm == 15.0


def test_a_finding_named_twice_in_one_sentence_is_one_row(ner):
    text = "Small left pleural effusion, the effusion unchanged."
    effusions = [m for m in ner.extract(text, split_sections(text), "chest")
                 if m.concept == "pleural_effusion"]
    assert len(effusions) == 1
    assert effusions[0].change == "stable" and effusions[0].laterality == "left"


def test_a_finding_described_again_in_another_sentence_stays_a_row(ner):
    """Leaving out the second description must show (one-to-one alignment counts it)."""
    text = "Small left pleural effusion. The effusion is unchanged."
    effusions = [m for m in ner.extract(text, split_sections(text), "chest")
                 if m.concept == "pleural_effusion"]
    assert len(effusions) == 2


def test_spans_point_into_the_full_text(ner):
    text = "INDICATION: cough\nFINDINGS: Small left effusion.\nIMPRESSION: Left effusion."
    for m in ner.extract(text, split_sections(text)):
        assert text[m.start:m.end].lower() == m.text.lower()


def test_normal_statements_deny_their_finding(ner):
    found = mentions(ner, "Heart size is normal. The lungs are clear.")
    assert found["cardiomegaly"].polarity == "absent"
    # "the lungs are clear" denies any finding of the lungs: a normal statement of them
    assert found["clear_lungs"].polarity == "absent" and found["clear_lungs"].generic
    # the borderline wording is a finding, not a normal statement
    found = mentions(ner, "Heart size is at the upper limits of normal.")
    assert found["cardiomegaly"].polarity == "present"


def test_side_is_read_even_before_a_named_place(ner):
    found = mentions(ner, "Right paratracheal calcification. Catheter tip in the right atrium.")
    assert found["calcification"].laterality == "right"
    assert found["calcification"].anatomy == "RA:paratracheal"
    assert found["central_line"].laterality == "right"


def test_scispacy_wiring_reads_attributes_of_model_entities():
    """en_core_sci_lg cannot be installed here; a spaCy pipeline that tags the same spans
    stands in for it, so the wiring (entities in, our attributes read) is still tested."""
    import spacy

    from scoring.analysis import SentenceReader
    from scoring.ner import LexiconNer, ScispacyNer

    stand_in = spacy.blank("en")
    stand_in.add_pipe("entity_ruler").add_patterns(
        [{"label": "ENTITY", "pattern": "pleural effusion"}])
    ner = ScispacyNer.__new__(ScispacyNer)
    LexiconNer.__init__(ner, reader=SentenceReader())  # a pipeline of its own
    ner.reader.nlp.get_pipe("radagree_entities").external = stand_in
    text = "No left pleural effusion."
    found = ner.extract(text, split_sections(text))
    assert [(m.concept, m.polarity, m.laterality) for m in found] == \
        [("~pleural effusion", "absent", "left")]


@pytest.mark.parametrize("word", ["pelviectasis", "pelvocaliectasis", "caliectasis",
                                  "dilated collecting system"])
def test_collecting_system_dilatation_is_hydronephrosis(ner, word):
    found = mentions(ner, f"Mild left {word}.")
    assert found["hydronephrosis"].laterality == "left"


@pytest.mark.parametrize("text,place", [
    ("Oblique distal fibular fracture with 3 mm displacement.", "RID2871"),
    ("No talar dome fracture.", "RID2949"),
    ("Comminuted calcaneal fracture.", "RID2959"),
])
def test_a_bones_adjective_places_its_fracture(ner, text, place):
    fractures = [m for m in mentions(ner, text).values() if "fracture" in m.label]
    assert fractures and all(ner.vocabulary.within(m.anatomy, place) for m in fractures)


def test_an_orientation_is_no_place(ner):
    # BI-RADS orientation: "parallel to the skin" says how the mass lies, not where
    found = mentions(ner, "At the palpable site, right breast 10 o'clock, there is an oval "
                          "circumscribed hypoechoic mass, parallel to the skin.")
    masses = [m for m in found.values() if m.head == "mass"]
    assert masses and all(ner.vocabulary.within(m.anatomy, "RA:breast") for m in masses)


@pytest.mark.parametrize("text,place", [
    ("7 mm pancreatic neck cyst.", "RID173"),
    ("Hypodense mass in the pancreatic head.", "RID171"),
])
def test_the_parts_of_the_pancreas_are_its_parts_not_the_neck(ner, text, place):
    found = [m for m in mentions(ner, text).values() if m.kind == "finding"]
    assert found and all(m.anatomy == place for m in found), [(m.text, m.anatomy) for m in found]


def test_a_hyphen_inside_a_term_reads_as_a_space(ner):
    # "low-signal intensity" is the term "low signal intensity"; "low-grade" keeps its own
    found = mentions(ner, "MR images of the left foot show extensive areas of low-signal "
                          "intensity around the first metatarsal head.")
    assert any(m.head == "signal_abnormality" for m in found.values()), found


@pytest.mark.parametrize("text,polarity", [
    ("Bone scan shows increased uptake in the clivus.", "present"),
    ("Intense FDG uptake in a right hilar node.", "present"),
    ("No abnormal uptake.", "absent"),
])
def test_increased_uptake_is_a_finding_of_nuclear_medicine(ner, text, polarity):
    found = [m for m in mentions(ner, text).values() if m.head == "increased_uptake"]
    assert found and all(m.polarity == polarity for m in found), found


@pytest.mark.parametrize("text", ["No abnormal signal.", "No abnormal signal in the cord."])
def test_no_abnormal_x_denies_x(ner, text):
    # ConText's own trigger "no abnormal" overlaps the finding "abnormal signal"
    found = [m for m in mentions(ner, text).values() if m.head == "signal_abnormality"]
    assert found and all(m.polarity == "absent" for m in found)


@pytest.mark.parametrize("text,finding,polarity", [
    ("No findings consistent with pneumonia.", "pneumonia", "absent"),
    ("No opacity in the right maxillary sinus consistent with sinusitis.", "HP:0000246",
     "absent"),
    ("No consolidation; findings consistent with atelectasis.", "atelectasis", "present"),
])
def test_a_denial_names_what_it_would_have_shown(ner, text, finding, polarity):
    assert mentions(ner, text)[finding].polarity == polarity


@pytest.mark.parametrize("text,concept,polarity", [
    ("The previously seen pneumothorax is no longer visualized.", "pneumothorax", "absent"),
    ("Appendicitis is not excluded.", "appendicitis", "possible"),
    ("Pneumothorax is not ruled out.", "pneumothorax", "possible"),
])
def test_resolved_and_not_excluded(ner, text, concept, polarity):
    found = [m for m in mentions(ner, text).values() if concept in m.label]
    assert found and all(m.polarity == polarity for m in found), found


def test_there_is_no_change_in_a_finding_keeps_the_finding(ner):
    found = mentions(ner, "There is no change in the moderate right pleural effusion.")
    assert found["pleural_effusion"].polarity == "present"
    assert mentions(ner, "There is no pleural effusion.")["pleural_effusion"].polarity == "absent"
