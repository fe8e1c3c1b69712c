"""Named BIT STRINGs of at most 16 bits decode to one shared frozenset per bit mask (a cache in the core): the
values must be exactly those of a bit-by-bit reading, for every mask, before and after the cache is full, and
the DER checks must run before any cached value is returned."""
import pytest

from estcodec.errors import DecodeError
from estcodec.schema import NamedBitString, decode, encode
from estcodec.x509 import KEY_USAGE_BITS, KeyUsage


def _der_of_mask(mask: int) -> bytes:
    # DER BIT STRING of a named bit list: no trailing zero bits.
    nbits = mask.bit_length()
    nbytes = (nbits + 7) // 8
    data = bytearray(nbytes)
    for i in range(nbits):
        if mask >> i & 1:
            data[i >> 3] |= 0x80 >> (i & 7)
    unused = nbytes * 8 - nbits
    return bytes([0x03, nbytes + 1, unused]) + bytes(data)


def _expected(names: tuple, mask: int) -> frozenset:
    return frozenset(names[i] if i < len(names) else f"bit{i}" for i in range(16) if mask >> i & 1)


def test_every_key_usage_mask_reads_as_its_bits_twice():
    for mask in range(1 << len(KEY_USAGE_BITS)):
        der = _der_of_mask(mask)
        first = decode(KeyUsage, der)
        assert first == _expected(KEY_USAGE_BITS, mask)
        assert decode(KeyUsage, der) == first
        assert encode(KeyUsage, first) == der


def test_sixteen_bit_masks_past_the_cache_bound_stay_exact():
    names = tuple(f"n{i}" for i in range(12))  # bits 12-15 have no name: they read as "bitN"
    t = NamedBitString(*names)
    for mask in range(0, 1 << 16, 97):  # 676 distinct masks, more than the cache keeps
        assert decode(t, _der_of_mask(mask)) == _expected(names, mask), mask
    for mask in (0, 1, 0x8000, 0xFFFF, 0x1234):
        assert decode(t, _der_of_mask(mask)) == _expected(names, mask)


def test_two_types_with_the_same_masks_do_not_share_names():
    a = NamedBitString("a0", "a1", "a2")
    b = NamedBitString("b0", "b1", "b2")
    for mask in range(1, 8):
        der = _der_of_mask(mask)
        assert decode(a, der) == _expected(("a0", "a1", "a2"), mask)
        assert decode(b, der) == _expected(("b0", "b1", "b2"), mask)


def test_trailing_zero_bits_refused_even_when_the_mask_was_seen():
    assert decode(KeyUsage, bytes.fromhex("03020186")) == {"digital_signature", "crl_sign", "key_cert_sign"}
    # the same set bits with one trailing zero bit: not DER
    with pytest.raises(DecodeError) as exc:
        decode(KeyUsage, bytes.fromhex("03020086"))
    assert exc.value.offset == 0


def test_longer_bit_lists_are_read_bit_by_bit():
    names = tuple(f"n{i}" for i in range(20))
    t = NamedBitString(*names)
    mask = (1 << 19) | (1 << 3)
    assert decode(t, _der_of_mask(mask)) == {"n3", "n19"}
