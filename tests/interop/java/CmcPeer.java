// Bouncy Castle builds a Full PKI Request and reads the PKIResponse, for tests/interop/test_bouncycastle.py.
// Usage: java CmcPeer request OUT_FILE          -> writes ContentInfo(SignedData(PKIData)) as BC encodes it (BER)
//        java CmcPeer response IN_FILE CA_PEM   -> verifies the response signature with the CA certificate and
//                                                  prints "OK status=... transactionId=... recipientNonce=..."
// The request carries one PKCS#10 (CN=bc-cmc), transactionId 4242 and senderNonce "bc-nonce"; it is signed
// with the requested key, the signer named by subject key identifier (RFC 5272 section 3.2.1.3.1).
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Collection;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cmc.BodyPartID;
import org.bouncycastle.asn1.cmc.CMCObjectIdentifiers;
import org.bouncycastle.asn1.cmc.CMCStatusInfoV2;
import org.bouncycastle.asn1.cmc.OtherMsg;
import org.bouncycastle.asn1.cmc.PKIData;
import org.bouncycastle.asn1.cmc.PKIResponse;
import org.bouncycastle.asn1.cmc.TaggedAttribute;
import org.bouncycastle.asn1.cmc.TaggedCertificationRequest;
import org.bouncycastle.asn1.cmc.TaggedContentInfo;
import org.bouncycastle.asn1.cmc.TaggedRequest;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

public class CmcPeer {
    public static void main(String[] a) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        if (a[0].equals("request")) {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC", "BC");
            g.initialize(new ECGenParameterSpec("P-256"), new SecureRandom());
            KeyPair kp = g.generateKeyPair();
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").setProvider("BC").build(kp.getPrivate());
            PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(
                new X500Name("CN=bc-cmc"), kp.getPublic()).build(signer);
            TaggedAttribute[] controls = {
                new TaggedAttribute(new BodyPartID(1), CMCObjectIdentifiers.id_cmc_transactionId,
                    new DERSet(new ASN1Integer(4242))),
                new TaggedAttribute(new BodyPartID(2), CMCObjectIdentifiers.id_cmc_senderNonce,
                    new DERSet(new DEROctetString("bc-nonce".getBytes("US-ASCII")))),
            };
            TaggedRequest[] reqs = {new TaggedRequest(new TaggedCertificationRequest(new BodyPartID(3),
                org.bouncycastle.asn1.cmc.CertificationRequest.getInstance(csr.getEncoded())))};
            PKIData pkiData = new PKIData(controls, reqs, new TaggedContentInfo[0], new OtherMsg[0]);
            byte[] spkiBits = SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()).getPublicKeyData().getBytes();
            byte[] ski = MessageDigest.getInstance("SHA-1").digest(spkiBits);
            CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
            gen.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
                new JcaDigestCalculatorProviderBuilder().setProvider("BC").build())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider("BC").build(kp.getPrivate()), ski));
            CMSSignedData signed = gen.generate(
                new CMSProcessableByteArray(CMCObjectIdentifiers.id_cct_PKIData, pkiData.getEncoded()), true);
            Files.write(Paths.get(a[1]), signed.getEncoded());
            System.out.println("OK request written");
            return;
        }
        CMSSignedData signed = new CMSSignedData(Files.readAllBytes(Paths.get(a[1])));
        X509Certificate ca;
        try (FileInputStream in = new FileInputStream(a[2])) {
            ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        Collection<SignerInformation> signers = signed.getSignerInfos().getSigners();
        for (SignerInformation si : signers) {
            if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(ca))) {
                throw new IllegalStateException("response signature does not verify");
            }
        }
        if (!CMCObjectIdentifiers.id_cct_PKIResponse.equals(signed.getSignedContentTypeOID() == null ? null
                : new org.bouncycastle.asn1.ASN1ObjectIdentifier(signed.getSignedContentTypeOID()))) {
            throw new IllegalStateException("not a PKIResponse: " + signed.getSignedContentTypeOID());
        }
        PKIResponse resp = PKIResponse.getInstance((byte[]) signed.getSignedContent().getContent());
        String status = "?", tid = "?", nonce = "?";
        for (int i = 0; i < resp.getControlSequence().size(); i++) {
            TaggedAttribute ta = TaggedAttribute.getInstance(resp.getControlSequence().getObjectAt(i));
            ASN1Encodable v = ta.getAttrValues().getObjectAt(0);
            if (ta.getAttrType().equals(CMCObjectIdentifiers.id_cmc_statusInfoV2)) {
                status = ASN1Integer.getInstance(CMCStatusInfoV2.getInstance(v).getcMCStatus().toASN1Primitive()).getValue().toString();
            } else if (ta.getAttrType().equals(CMCObjectIdentifiers.id_cmc_transactionId)) {
                tid = ASN1Integer.getInstance(v).getValue().toString();
            } else if (ta.getAttrType().equals(CMCObjectIdentifiers.id_cmc_recipientNonce)) {
                nonce = new String(DEROctetString.getInstance(v).getOctets(), "US-ASCII");
            }
        }
        System.out.println("OK status=" + status + " transactionId=" + tid + " recipientNonce=" + nonce
            + " signers=" + signers.size() + " certificates=" + signed.getCertificates().getMatches(null).size());
    }
}
