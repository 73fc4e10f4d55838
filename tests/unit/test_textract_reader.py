"""The Textract AnalyzeID reader: parameters sent, AWS's documented answer
mapped onto the document fields, the MRZ parsed from Textract's text, and
every failure turned into read: false with a reason."""

from datetime import date

import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from chalicelib.documents.textract import TextractReader, from_analyze_id
from chalicelib.imaging.image import Image
from tests.support.rekognition_stub import fake_client
from tests.support.textract_stub import (
    EMPTY,
    LICENCE,
    PASSPORT,
    analyze_id_answer,
    analyze_params,
    field,
)

TODAY = date(2026, 11, 27)
IMAGE = Image(b"\xff\xd8\xff document bytes", "JPEG", 800, 500, "dl")


@pytest.fixture
def stub():
    client = fake_client("textract")
    with Stubber(client) as stubber:
        yield TextractReader(client=client), stubber
        stubber.assert_no_pending_responses()


def test_licence_fields_mapped(stub):
    reader, stubber = stub
    stubber.add_response("analyze_id", LICENCE, analyze_params(IMAGE.data))
    result = reader.read(IMAGE, TODAY)
    assert (result.read, result.source, result.type, result.mrz_format) == (
        True, "textract", "driving_licence", None)
    assert result.fields.to_json() == {
        "surname": "SOUZA", "given_names": "JORGE", "document_number": "820BAC729CBAC",
        "nationality": None, "issuing_country": None, "date_of_birth": "1978-03-18",
        "expiry_date": "2028-01-20", "sex": None}
    assert result.check_digits is None


def test_passport_read_from_the_mrz_in_textracts_lines(stub):
    reader, stubber = stub
    stubber.add_response("analyze_id", PASSPORT, analyze_params(IMAGE.data))
    result = reader.read(IMAGE, TODAY)
    assert (result.source, result.type, result.mrz_format, result.check_digits) == (
        "mrz", "passport", "TD3", True)
    assert (result.fields.surname, result.fields.nationality, result.fields.date_of_birth) == (
        "ERIKSSON", "UTO", date(1974, 8, 12))


def test_mrz_code_field_used_when_no_lines():
    answer = analyze_id_answer([field("MRZ_CODE", "I<UTOD231458907<<<<<<<<<<<<<<<\n"
                                                  "7408122F1204159UTO<<<<<<<<<<<6\n"
                                                  "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")])
    result = from_analyze_id(answer, TODAY)
    assert (result.source, result.mrz_format, result.type) == ("mrz", "TD1", "id_card")


def test_date_without_normalized_value_and_middle_name():
    answer = analyze_id_answer([field("LAST_NAME", "DOE"), field("FIRST_NAME", "JANE"),
                                field("MIDDLE_NAME", "Q"), field("DATE_OF_BIRTH", "09/21/1970")])
    result = from_analyze_id(answer, TODAY)
    assert (result.fields.given_names, result.fields.date_of_birth) == ("JANE Q", date(1970, 9, 21))
    assert result.type == "unknown"


def test_nothing_found_is_unread(stub):
    reader, stubber = stub
    stubber.add_response("analyze_id", EMPTY, analyze_params(IMAGE.data))
    result = reader.read(IMAGE, TODAY)
    assert (result.read, result.reason) == (False, "unreadable")
    assert from_analyze_id(analyze_id_answer([field("CLASS", "D")]), TODAY).read is False


@pytest.mark.parametrize("code, status, reason", [
    ("ProvisionedThroughputExceededException", 400, "throttled"),
    ("ThrottlingException", 400, "throttled"),
    ("InternalServerError", 500, "reader_error"),
    ("UnsupportedDocumentException", 400, "reader_error"),
    ("AccessDeniedException", 400, "reader_error"),
])
def test_service_errors_are_unread_with_a_reason(stub, code, status, reason):
    reader, stubber = stub
    stubber.add_client_error("analyze_id", code, "x", status, expected_params=analyze_params(IMAGE.data))
    result = reader.read(IMAGE, TODAY)
    assert (result.read, result.reason) == (False, reason)


def test_timeout_is_unread_with_reason_timeout():
    class SlowClient:
        def analyze_id(self, **kwargs):
            raise ReadTimeoutError(endpoint_url="https://textract.us-east-1.amazonaws.com")

    result = TextractReader(client=SlowClient()).read(IMAGE, TODAY)
    assert (result.read, result.reason) == (False, "timeout")
