"""estcodec.oids: every OID defined once, one name table, used by dump, show and the models."""
import importlib
import pathlib
import re

import pytest

from estcodec import dump, oids, show

SRC = pathlib.Path(__file__).resolve().parent.parent / "src" / "estcodec"


def _constants() -> dict:
    return {k: v for k, v in vars(oids).items() if k.isupper() and isinstance(v, str)}


def test_every_constant_is_a_dotted_oid_with_a_name() -> None:
    consts = _constants()
    assert len(consts) > 200
    for name, value in consts.items():
        assert oids.is_dotted_oid(value), name
        assert value in oids.OID_NAMES, name


def test_no_oid_has_two_names() -> None:
    by_value: dict = {}
    for name, value in _constants().items():
        assert value not in by_value, f"{value} is both {by_value.get(value)} and {name}"
        by_value[value] = name
    assert set(by_value) == set(oids.OID_NAMES)


def test_no_short_name_is_given_to_two_oids() -> None:
    names = list(oids.OID_NAMES.values())
    assert len(names) == len(set(names))


def test_registering_an_oid_twice_under_another_name_is_refused() -> None:
    with pytest.raises(ValueError, match="named twice"):
        oids._oid(oids.ID_DATA, "somethingElse")
    with pytest.raises(ValueError, match="not a dotted OID"):
        oids._oid("1.02.3", "x")
    assert oids._oid(oids.ID_DATA, oids.OID_NAMES[oids.ID_DATA]) == oids.ID_DATA


def test_dump_and_show_label_from_the_one_table() -> None:
    assert dump.OID_NAMES is oids.OID_NAMES
    for value, name in oids.OID_NAMES.items():
        assert dump.oid_name(value) == f"{name} ({value})"
        assert show._oid_name(value) == name
        assert show._oid_label(value) == f"{name} ({value})"
    assert dump.oid_name("1.2.3.4.5") == "1.2.3.4.5" == show._oid_name("1.2.3.4.5")


def test_content_collection_and_key_package_are_told_apart() -> None:
    # RFC 4073 §2 id-ct-contentCollection; RFC 5958 §3 id-ct-KP-aKeyPackage
    assert oids.OID_NAMES["1.2.840.113549.1.9.16.1.19"] == "id-ct-contentCollection"
    assert oids.OID_NAMES["2.16.840.1.101.2.1.2.78.5"] == "id-ct-KP-aKeyPackage"
    assert show._oid_name(oids.ID_CT_CONTENT_COLLECTION) == "id-ct-contentCollection"


@pytest.mark.parametrize("module, names", [
    ("estcodec.cms", ["OID_DATA", "OID_SIGNED_DATA", "OID_ENVELOPED_DATA", "OID_DIGESTED_DATA", "OID_ENCRYPTED_DATA",
                      "OID_AUTHENTICATED_DATA", "OID_CONTENT_TYPE", "OID_MESSAGE_DIGEST", "OID_SIGNING_TIME"]),
    ("estcodec.enveloped", ["ID_DATA", "ID_SIGNED_DATA", "ID_ENVELOPED_DATA", "ID_AUTH_ENVELOPED_DATA",
                            "ID_CT_KP_A_KEY_PACKAGE"]),
    ("estcodec.pkcs10", ["OID_CHALLENGE_PASSWORD", "OID_EXTENSION_REQUEST", "OID_MS_EXTENSION_REQUEST",
                         "OID_UNSTRUCTURED_NAME"]),
    ("estcodec._sigalgs", ["OID_RSA_ENCRYPTION", "OID_SHA256", "OID_SHAKE256_LEN"]),
    ("estcodec._cms_crypto", ["OID_AES128_CBC", "OID_PWRI_KEK", "OID_DH_SINGLE_PASS_STDDH_SHA1KDF"]),
])
def test_old_constant_names_stay_importable(module: str, names: list) -> None:
    mod = importlib.import_module(module)
    for name in names:
        assert getattr(mod, name) in oids.OID_NAMES, name


@pytest.mark.parametrize("module", ["estcodec.x509", "estcodec.ocsp", "estcodec.pkcs8", "estcodec.csrattrs",
                                    "estcodec.cmc"])
def test_oid_namespaces_hold_registered_oids(module: str) -> None:
    ns = importlib.import_module(module).oid
    values = {k: v for k, v in vars(ns).items() if k.isupper()}
    assert values
    for name, value in values.items():
        assert value in oids.OID_NAMES, f"{module}.oid.{name}"


def test_no_dotted_oid_literal_outside_oids() -> None:
    literal = re.compile(r"""["'][0-2](\.[0-9]+){2,}["']""")
    offenders = []
    # estcodec's modules and estclient's (the test CA included); the IPv4 address 0.0.0.0 is not an OID
    for path in sorted([*SRC.glob("*.py"), *SRC.parent.joinpath("estclient").rglob("*.py")]):
        if path.name == "oids.py":
            continue
        in_doc = False
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            quotes = stripped.count('"""')
            if in_doc or stripped.startswith(("#", '"""', "``")):
                if quotes == 1:
                    in_doc = not in_doc
                continue
            if quotes == 1:
                in_doc = True
            code = line.split("#")[0].replace('"0.0.0.0"', "")
            if literal.search(code) and "``" not in line and "__version__" not in line:
                offenders.append(f"{path.relative_to(SRC.parent)}:{n}: {stripped}")
    assert not offenders, "\n".join(offenders)


def test_decoded_oids_are_the_constants_of_this_module() -> None:
    # The decoder hands out estcodec.oids' own string objects for the OIDs named there (tables keyed by the
    # constants then match by identity); an OID nobody named decodes to an equal string of its own.
    from estcodec import oids, schema
    from estcodec._der import encode

    for constant in (oids.ID_CE_SUBJECT_ALT_NAME, oids.ID_AT_COMMON_NAME, oids.PKCS_9_AT_EXTENSION_REQUEST):
        fresh = ".".join(constant.split("."))          # an equal str, not the constant
        assert fresh is not constant
        decoded = schema.decode(schema.ObjectIdentifier, encode(schema.ObjectIdentifier, fresh))
        assert decoded == constant and decoded is constant
    unknown = "1.3.6.1.4.1.55555.1.2.3"
    assert unknown not in oids.OID_NAMES
    decoded = schema.decode(schema.ObjectIdentifier, encode(schema.ObjectIdentifier, unknown))
    assert decoded == unknown and decoded not in oids.OID_NAMES
