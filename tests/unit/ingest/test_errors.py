"""The one HL7 error vocabulary: every table-0357 code ingest answers with, found by its code."""

from __future__ import annotations

from ingest import errors


def test_every_code_is_in_the_table_and_found_by_its_code():
    defined = [v for v in vars(errors).values() if isinstance(v, errors.ErrorCode)]
    assert sorted(defined, key=lambda e: e.code) == sorted(errors.TABLE_0357.values(),
                                                           key=lambda e: e.code)
    for code in defined:
        assert errors.error_code(code.code) is code
    assert errors.error_code("999") is errors.INTERNAL_ERROR
    assert errors.error_code(None) is errors.INTERNAL_ERROR


def test_one_base_for_every_ingest_error():
    for kind in (errors.FramingError, errors.FrameTooLarge, errors.StoreUnavailable,
                 errors.ParseError):
        assert issubclass(kind, errors.IngestError)
