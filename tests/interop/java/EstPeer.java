// Bouncy Castle's EST client (org.bouncycastle.est) against an EST server, for tests/interop/test_bouncycastle.py.
// Usage: java EstPeer HOST:PORT CA_PEM STEP USER PASSWORD
//   STEP: cacerts | enroll-basic | enroll-digest | reenroll (enrolls with Basic, then re-enrolls with the issued
//   certificate as TLS client certificate) | serverkeygen-basic | serverkeygen-digest
// Prints one "OK ..." line per completed operation; any failure prints its exception and exits 1.
import java.io.FileInputStream;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.est.CACertsResponse;
import org.bouncycastle.est.ESTAuth;
import org.bouncycastle.est.ESTService;
import org.bouncycastle.est.EnrollmentResponse;
import org.bouncycastle.est.HttpAuth;
import org.bouncycastle.est.jcajce.JcaHttpAuthBuilder;
import org.bouncycastle.est.jcajce.JsseESTServiceBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;

public class EstPeer {
    static X509TrustManager[] trust(String caPem) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        try (FileInputStream in = new FileInputStream(caPem)) {
            ks.setCertificateEntry("ca", cf.generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager) {
                return new X509TrustManager[] {(X509TrustManager) tm};
            }
        }
        throw new IllegalStateException("no X509TrustManager");
    }

    static KeyPair newKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", "BC");
        g.initialize(new ECGenParameterSpec("P-256"), new SecureRandom());
        return g.generateKeyPair();
    }

    static PKCS10CertificationRequest csr(String cn, KeyPair kp) throws Exception {
        return new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=" + cn), kp.getPublic())
            .build(new JcaContentSignerBuilder("SHA256withECDSA").setProvider("BC").build(kp.getPrivate()));
    }

    static ESTAuth auth(String kind, String user, String password) throws Exception {
        if (kind.equals("digest")) {
            // realm null: answer whatever realm the challenge names; MD5 unless the challenge names another
            return new JcaHttpAuthBuilder(user, password.toCharArray()).setNonceGenerator(new SecureRandom())
                .setProvider("BC").build();
        }
        return new HttpAuth(user, password.toCharArray());
    }

    static X509CertificateHolder only(EnrollmentResponse r) {
        if (!r.isCompleted()) {
            throw new IllegalStateException("enrollment not completed");
        }
        X509CertificateHolder[] certs = ESTService.storeToArray(r.getStore());
        if (certs.length != 1) {
            throw new IllegalStateException("expected one certificate, got " + certs.length);
        }
        return certs[0];
    }

    public static void main(String[] a) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        String server = a[0], caPem = a[1], step = a[2], user = a[3], password = a[4];
        X509TrustManager[] tms = trust(caPem);
        ESTService est = new JsseESTServiceBuilder(server, tms).build();
        try {
            if (step.equals("cacerts")) {
                CACertsResponse r = est.getCACerts();
                X509CertificateHolder[] certs = ESTService.storeToArray(r.getCertificateStore());
                System.out.println("OK cacerts " + certs.length + " " + certs[0].getSubject());
                return;
            }
            String[] parts = step.split("-");
            if (parts[0].equals("enroll") || parts[0].equals("reenroll")) {
                KeyPair kp = newKey();
                X509CertificateHolder cert = only(est.simpleEnroll(false, csr("bc-device", kp),
                    auth(parts.length > 1 ? parts[1] : "basic", user, password)));
                System.out.println("OK enroll " + cert.getSubject() + " " + cert.getSerialNumber());
                if (parts[0].equals("reenroll")) {
                    X509Certificate jcert = new JcaX509CertificateConverter().setProvider("BC").getCertificate(cert);
                    KeyStore ks = KeyStore.getInstance("PKCS12");
                    ks.load(null, null);
                    ks.setKeyEntry("id", kp.getPrivate(), "x".toCharArray(), new Certificate[] {jcert});
                    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                    kmf.init(ks, "x".toCharArray());
                    ESTService withCert = new JsseESTServiceBuilder(server, tms)
                        .withKeyManagers(kmf.getKeyManagers()).build();
                    X509CertificateHolder renewed = only(withCert.simpleEnroll(true, csr("bc-device", newKey()), null));
                    if (renewed.getSerialNumber().equals(cert.getSerialNumber())) {
                        throw new IllegalStateException("re-enrollment returned the old certificate");
                    }
                    System.out.println("OK reenroll " + renewed.getSubject() + " " + renewed.getSerialNumber());
                }
                return;
            }
            if (parts[0].equals("serverkeygen")) {
                EnrollmentResponse r = est.simpleEnrollWithServersideCreation(csr("bc-keygen", newKey()),
                    auth(parts[1], user, password));
                X509CertificateHolder cert = only(r);
                PrivateKeyInfo pki = r.getPrivateKeyInfo();
                if (pki == null) {
                    throw new IllegalStateException("no private key in the serverkeygen response");
                }
                PrivateKey key = java.security.KeyFactory.getInstance("EC", "BC")
                    .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pki.getEncoded()));
                // the key signs, the certificate's public key verifies: the pair belongs together
                java.security.Signature s = java.security.Signature.getInstance("SHA256withECDSA", "BC");
                s.initSign(key);
                s.update(new byte[] {1, 2, 3});
                byte[] sig = s.sign();
                s.initVerify(new JcaX509CertificateConverter().setProvider("BC").getCertificate(cert).getPublicKey());
                s.update(new byte[] {1, 2, 3});
                if (!s.verify(sig)) {
                    throw new IllegalStateException("server-generated key does not match the certificate");
                }
                System.out.println("OK serverkeygen " + cert.getSubject() + " " + key.getAlgorithm());
                return;
            }
            throw new IllegalArgumentException("unknown step " + step);
        } catch (Exception e) {
            System.out.println("FAIL " + e);
            e.printStackTrace(System.out);
            System.exit(1);
        }
    }
}
