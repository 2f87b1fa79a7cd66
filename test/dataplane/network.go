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
//     EndpointSlices picked at random for each request;
//   - anything else goes where it was sent, so a client may use the proxy
//     for all its traffic.
// Only the pods, Services and EndpointSlices modelgate manages are known.

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

// resolve maps the host:port a client asked for to the address to dial.
func (r *Runner) resolve(hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	if ip := net.ParseIP(host); ip != nil {
		if pods, _ := r.pods.GetIndexer().ByIndex(byPodIP, host); len(pods) > 0 {
			local, err := LocalIP(host)
			if err != nil {
				return "", err
			}
			return net.JoinHostPort(local, port), nil
		}
		if svcs, _ := r.services.GetIndexer().ByIndex(byClusterIP, host); len(svcs) > 0 {
			return r.endpoint(svcs[0].(*corev1.Service), port)
		}
		return hostport, nil
	}
	if ns, name, ok := serviceName(host); ok {
		obj, exists, _ := r.services.GetIndexer().GetByKey(ns + "/" + name)
		if exists {
			return r.endpoint(obj.(*corev1.Service), port)
		}
	}
	return hostport, nil
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
// would, and returns its process's address.
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
			local, err := LocalIP(e.Addresses[0])
			if err != nil {
				continue
			}
			candidates = append(candidates, net.JoinHostPort(local, strconv.Itoa(int(target))))
		}
	}
	if len(candidates) == 0 {
		return "", fmt.Errorf("service %s/%s port %d: %w", svc.Namespace, svc.Name, n, errNoEndpoint)
	}
	return candidates[rand.IntN(len(candidates))], nil //nolint:gosec // load balancing, not security
}

// proxy is the HTTP proxy of the data plane's network.
type proxy struct {
	r      *Runner
	dialer net.Dialer
	// fixed keeps connections to pods and the outside; each request to a
	// Service gets a new connection, so that it picks its own endpoint.
	fixed, perRequest *httputil.ReverseProxy
}

func newProxy(r *Runner) *proxy {
	p := &proxy{r: r, dialer: net.Dialer{Timeout: 5 * time.Second}}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		target, err := r.resolve(addr)
		if err != nil {
			return nil, err
		}
		return p.dialer.DialContext(ctx, network, target)
	}
	rp := func(keepAlive bool) *httputil.ReverseProxy {
		return &httputil.ReverseProxy{
			// The request is in absolute form: it already names where it goes.
			Rewrite: func(pr *httputil.ProxyRequest) { pr.Out.Host = pr.In.Host },
			Transport: &http.Transport{
				DialContext: dial, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64,
				IdleConnTimeout: 30 * time.Second,
			},
			ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
				code := http.StatusBadGateway
				if errors.Is(err, errNoEndpoint) {
					code = http.StatusServiceUnavailable
				}
				http.Error(w, fmt.Sprintf("local data plane: %s %s: %v", req.Method, req.URL, err), code)
			},
		}
	}
	p.fixed, p.perRequest = rp(true), rp(false)
	return p
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
	if p.isService(req.URL.Host) {
		p.perRequest.ServeHTTP(w, req)
		return
	}
	p.fixed.ServeHTTP(w, req)
}

func (p *proxy) isService(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if net.ParseIP(host) != nil {
		svcs, _ := p.r.services.GetIndexer().ByIndex(byClusterIP, host)
		return len(svcs) > 0
	}
	ns, name, ok := serviceName(host)
	if !ok {
		return false
	}
	_, exists, _ := p.r.services.GetIndexer().GetByKey(ns + "/" + name)
	return exists
}

// tunnel serves CONNECT: a TCP stream to where resolve says.
func (p *proxy) tunnel(w http.ResponseWriter, req *http.Request) {
	target, err := p.r.resolve(req.Host)
	if err != nil {
		http.Error(w, fmt.Sprintf("local data plane: CONNECT %s: %v", req.Host, err), http.StatusBadGateway)
		return
	}
	upstream, err := p.dialer.DialContext(req.Context(), "tcp", target)
	if err != nil {
		http.Error(w, fmt.Sprintf("local data plane: CONNECT %s: %v", req.Host, err), http.StatusBadGateway)
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
