// Command local-webhooks prepares modelgate's admission webhooks for a manager
// running as a local process (make demo): it writes a serving certificate into
// -cert-dir and prints the webhook configurations, pointing at
// https://127.0.0.1:-port with their own CA, for kubectl apply -f -.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/modelgate/modelgate/test/localwebhooks"
)

func main() {
	manifests := flag.String("manifests", "config/webhook/manifests.yaml", "The webhook configurations controller-gen writes.")
	certDir := flag.String("cert-dir", "", "Folder to write tls.crt and tls.key into, for the manager's --webhook-cert-dir.")
	port := flag.Int("port", 9443, "Port the manager serves its webhooks on (--webhook-port).")
	flag.Parse()
	if *certDir == "" {
		fmt.Fprintln(os.Stderr, "local-webhooks: -cert-dir is required")
		os.Exit(2)
	}
	out, err := localwebhooks.Prepare(*manifests, *certDir, "127.0.0.1", *port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local-webhooks:", err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
}
