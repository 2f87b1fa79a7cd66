// Package localwebhooks serves modelgate's admission webhooks from a manager
// running as a local process, as the e2e tests and `make demo` run it: it
// makes a self-signed CA and a serving certificate for 127.0.0.1, and turns
// config/webhook's configurations (which name an in-cluster Service) into
// ones that call https://127.0.0.1:PORT with that CA.
package localwebhooks

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"
)

// Prepare writes tls.crt and tls.key for host into certDir and returns the
// webhook configurations of manifests (config/webhook/manifests.yaml)
// pointing at https://host:port, for kubectl apply.
func Prepare(manifests, certDir, host string, port int) ([]byte, error) {
	caPEM, err := writeCerts(certDir, host)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(manifests)
	if err != nil {
		return nil, fmt.Errorf("reading the webhook manifests (run make manifests): %w", err)
	}
	base := fmt.Sprintf("https://%s", net.JoinHostPort(host, fmt.Sprint(port)))
	local := func(cc *admissionregistrationv1.WebhookClientConfig) {
		path := "/"
		if cc.Service != nil && cc.Service.Path != nil {
			path = *cc.Service.Path
		}
		cc.Service, cc.URL, cc.CABundle = nil, ptr.To(base+path), caPEM
	}
	var out bytes.Buffer
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var probe struct {
			Kind string `json:"kind"`
		}
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		b, err := sigsyaml.Marshal(doc)
		if err != nil {
			return nil, err
		}
		if err := sigsyaml.Unmarshal(b, &probe); err != nil {
			return nil, err
		}
		var obj any
		switch probe.Kind {
		case "MutatingWebhookConfiguration":
			m := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := sigsyaml.Unmarshal(b, m); err != nil {
				return nil, err
			}
			m.Name = "modelgate-local"
			for i := range m.Webhooks {
				local(&m.Webhooks[i].ClientConfig)
			}
			obj = m
		case "ValidatingWebhookConfiguration":
			v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := sigsyaml.Unmarshal(b, v); err != nil {
				return nil, err
			}
			v.Name = "modelgate-local"
			for i := range v.Webhooks {
				local(&v.Webhooks[i].ClientConfig)
			}
			obj = v
		default:
			continue
		}
		y, err := sigsyaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(y)
	}
	if out.Len() == 0 {
		return nil, fmt.Errorf("%s holds no webhook configuration", manifests)
	}
	return out.Bytes(), nil
}

// writeCerts makes a CA and a serving certificate for host, valid for a day,
// and returns the CA in PEM.
func writeCerts(dir, host string) ([]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "modelgate local webhook CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"},
	}
	if ip := net.ParseIP(host); ip != nil {
		tpl.IPAddresses = []net.IP{ip}
	} else {
		tpl.DNSNames = append(tpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
