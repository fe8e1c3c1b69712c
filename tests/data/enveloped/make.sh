#!/bin/sh
# Regenerates the fixed OpenSSL-made EnvelopedData samples of this folder (see README.md).
# Needs openssl (made with OpenSSL 3.0.19) and python3 (standard library only). Throwaway test keys.
set -eu
cd "$(dirname "$0")"

cert() {  # name keyfile
    openssl req -x509 -new -key "$2" -subj "/CN=$1" -days 36500 -sha256 \
        -addext "subjectKeyIdentifier=hash" -out "$1.pem"
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out signer.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out generated.key
for n in rsa p256 p384 signer; do cert "$n" "$n.key"; done

python3 - <<'EOF'
data = bytes(range(256)) * 3 + b"tail that is not a whole block"
open("plain.bin", "wb").write(data)
EOF

enc() {  # out args...
    out=$1; shift
    openssl cms -encrypt -binary -in plain.bin -outform DER -out "$out" "$@"
}
enc rsa15-aes256.der -aes256 -recip rsa.pem
enc oaep-sha256-aes128.der -aes128 -recip rsa.pem -keyopt rsa_padding_mode:oaep \
    -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256
enc ecdh-p256-aes192.der -aes192 -recip p256.pem
enc ecdh-p384-des3.der -des3 -recip p384.pem
enc gcm-aes256-rsa.der -aes-256-gcm -recip rsa.pem
enc kek-aes192.der -aes192 -secretkey 000102030405060708090a0b0c0d0e0f1011121314151617 -secretkeyid 6b6964
enc pwri-des3.der -des3 -pwri_password secret
# BER (indefinite lengths, constructed encrypted content): four recipients of four kinds
openssl cms -encrypt -binary -stream -in plain.bin -outform DER -out multi-stream.ber -aes128 \
    -recip rsa.pem -recip p256.pem -secretkey 000102030405060708090a0b0c0d0e0f -secretkeyid 6b3136
openssl cms -encrypt -binary -stream -in plain.bin -outform DER -out multi-stream-pwri.ber -aes128 \
    -pwri_password secret

# RFC 7030 4.4.2 as OpenSSL makes it: AsymmetricKeyPackage (SEQUENCE OF OneAsymmetricKey), signed with
# id-ct-KP-aKeyPackage as eContentType, then the whole SignedData ContentInfo encrypted as id-data.
openssl pkcs8 -topk8 -nocrypt -in generated.key -outform DER -out generated.p8
python3 - <<'EOF'
der = open("generated.p8", "rb").read()
def length(n):
    return bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
open("package.der", "wb").write(b"\x30" + length(len(der)) + der)
EOF
openssl cms -sign -binary -nodetach -in package.der -outform DER -out signed.der \
    -econtent_type 2.16.840.1.101.2.1.2.78.5 -signer signer.pem -inkey signer.key
openssl cms -encrypt -binary -in signed.der -outform DER -out keygen-kek.der -aes256 \
    -secretkey 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f -secretkeyid 6573742d6b656b
openssl cms -encrypt -binary -in signed.der -outform DER -out keygen-ktri.der -aes128 -recip rsa.pem
openssl cms -encrypt -binary -in signed.der -outform DER -out keygen-kari.der -aes256 -recip p256.pem
rm -f generated.p8 package.der signed.der
