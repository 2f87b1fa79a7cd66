package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// The data plane's network: there is no kube-proxy and no route to a pod IP,
// so the runner serves an HTTP proxy that plays both. A request through it
// (HTTP_PROXY, or CONNECT) to
//   - a pod IP goes to that pod's process, on the loopback twin of the IP;
//   - a Service's ClusterIP, or its name (<svc>.<ns>, <svc>.<ns>.svc,
//     <svc>.<ns>.svc.cluster.local), goes to a ready endpoint of its
//     EndpointSlices picked at random for each request, and the answer
//     names it in the EndpointHeader header (to send /feedback to the pod
//     that answered);
//   - anything else goes where it was sent, so a client may use the proxy
//     for all its traffic.
// Only the pods, Services and EndpointSlices modelgate manages are known.

// EndpointHeader names, in an answer the proxy routed through a Service,
// the pod IP and port that answered.
const EndpointHeader = "X-Data-Plane-Endpoint"

// Index names of the informers' indexers.
const (
	byPodIP     = "podIP"
	byClusterIP = "clusterIP"
	byService   = "service"
)

func podIPIndex(obj any) ([]string, error) {
	if pod, ok := obj.(*corev1.Pod); ok && pod.Status.PodIP != "" {
		return []string{pod.Status.PodIP}, nil
	}
	return nil, nil
}

func clusterIPIndex(obj any) ([]string, error) {
	if svc, ok := obj.(*corev1.Service); ok {
		return svc.Spec.ClusterIPs, nil
	}
	return nil, nil
}

// serviceIndex keys an EndpointSlice by <namespace>/<service>.
func serviceIndex(obj any) ([]string, error) {
	if es, ok := obj.(*discoveryv1.EndpointSlice); ok {
		if name := es.Labels[discoveryv1.LabelServiceName]; name != "" {
			return []string{es.Namespace + "/" + name}, nil
		}
	}
	return nil, nil
}

// errNoEndpoint is a Service without a ready endpoint for the port asked.
var errNoEndpoint = errors.New("no ready endpoint")

// route maps the host:port a client asked for to a pod's host:port when it
// names a Service, and says whether it did; anything else is left as it is.
func (r *Runner) route(hostport string) (target string, viaService bool, err error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", false, err
	}
	var svc *corev1.Service
	if net.ParseIP(host) != nil {
		if svcs, _ := r.services.GetIndexer().ByIndex(byClusterIP, host); len(svcs) > 0 {
			svc = svcs[0].(*corev1.Service)
		}
	} else if ns, name, ok := serviceName(host); ok {
		if obj, exists, _ := r.services.GetIndexer().GetByKey(ns + "/" + name); exists {
			svc = obj.(*corev1.Service)
		}
	}
	if svc == nil {
		return hostport, false, nil
	}
	target, err = r.endpoint(svc, port)
	return target, true, err
}

// local maps a pod IP's host:port to its process on the loopback twin;
// anything else is left as it is.
func (r *Runner) local(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	if pods, _ := r.pods.GetIndexer().ByIndex(byPodIP, host); len(pods) > 0 {
		if twin, err := LocalIP(host); err == nil {
			return net.JoinHostPort(twin, port)
		}
	}
	return hostport
}

// serviceName reads <svc>.<ns>[.svc[.cluster.local]].
func serviceName(host string) (ns, name string, ok bool) {
	host = strings.TrimSuffix(strings.TrimSuffix(host, "."), ".cluster.local")
	host = strings.TrimSuffix(host, ".svc")
	parts := strings.Split(host, ".")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[1], parts[0], true
}

// endpoint picks a ready endpoint of a Service port at random, as kube-proxy
// would, and returns its pod IP and port.
func (r *Runner) endpoint(svc *corev1.Service, port string) (string, error) {
	n, err := strconv.Atoi(port)
	if err != nil {
		return "", err
	}
	var portName string
	found := false
	for _, p := range svc.Spec.Ports {
		if int(p.Port) == n {
			portName, found = p.Name, true
		}
	}
	if !found {
		return "", fmt.Errorf("service %s/%s has no port %d", svc.Namespace, svc.Name, n)
	}
	slices, _ := r.slices.GetIndexer().ByIndex(byService, svc.Namespace+"/"+svc.Name)
	var candidates []string
	for _, obj := range slices {
		es := obj.(*discoveryv1.EndpointSlice)
		var target int32
		for _, p := range es.Ports {
			if p.Port != nil && (p.Name == nil && portName == "" || p.Name != nil && *p.Name == portName) {
				target = *p.Port
			}
		}
		if target == 0 {
			continue
		}
		for _, e := range es.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready || len(e.Addresses) == 0 {
				continue
			}
			candidates = append(candidates, net.JoinHostPort(e.Addresses[0], strconv.Itoa(int(target))))
		}
	}
	if len(candidates) == 0 {
		return "", fmt.Errorf("service %s/%s port %d: %w", svc.Namespace, svc.Name, n, errNoEndpoint)
	}
	return candidates[rand.IntN(len(candidates))], nil //nolint:gosec // load balancing, not security
}

// proxy is the HTTP proxy of the data plane's network.
type proxy struct {
	r       *Runner
	dialer  net.Dialer
	forward *httputil.ReverseProxy
}

func newProxy(r *Runner) *proxy {
	p := &proxy{r: r, dialer: net.Dialer{Timeout: 5 * time.Second}}
	p.forward = &httputil.ReverseProxy{
		// The request is in absolute form and already names where it goes;
		// ServeHTTP has put a Service's endpoint there.
		Rewrite: func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.In.Host },
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return p.dialer.DialContext(ctx, network, r.local(addr))
			},
			MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			fail(w, req.Method+" "+req.URL.String(), err)
		},
	}
	return p
}

// fail answers an error of the proxy: 503 for a Service without a ready
// endpoint, 502 for anything else.
func fail(w http.ResponseWriter, what string, err error) {
	code := http.StatusBadGateway
	if errors.Is(err, errNoEndpoint) {
		code = http.StatusServiceUnavailable
	}
	http.Error(w, fmt.Sprintf("local data plane: %s: %v", what, err), code)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodConnect {
		p.tunnel(w, req)
		return
	}
	if !req.URL.IsAbs() {
		http.Error(w, "this is the local data plane's HTTP proxy: send requests through it (HTTP_PROXY=http://"+req.Host+"), with absolute URLs", http.StatusBadRequest)
		return
	}
	target, viaService, err := p.r.route(req.URL.Host)
	if err != nil {
		fail(w, req.Method+" "+req.URL.String(), err)
		return
	}
	if viaService {
		req = req.Clone(req.Context())
		req.URL.Host = target
		w.Header().Set(EndpointHeader, target)
	}
	p.forward.ServeHTTP(w, req)
}

// tunnel serves CONNECT: a TCP stream to the pod, Service or host asked for.
func (p *proxy) tunnel(w http.ResponseWriter, req *http.Request) {
	target, _, err := p.r.route(req.Host)
	if err != nil {
		fail(w, "CONNECT "+req.Host, err)
		return
	}
	upstream, err := p.dialer.DialContext(req.Context(), "tcp", p.r.local(target))
	if err != nil {
		fail(w, "CONNECT "+req.Host, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = upstream.Close()
		http.Error(w, "local data plane: CONNECT needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(upstream, buf); done <- struct{}{} }()
	go func() { _, _ = io.Copy(client, upstream); done <- struct{}{} }()
	<-done
	_ = client.Close()
	_ = upstream.Close()
	<-done
}
