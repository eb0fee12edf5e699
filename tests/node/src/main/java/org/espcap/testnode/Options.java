// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: the launcher's command line.  See tests/node/README.md.

package org.espcap.testnode;

import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The launcher's options (the same for every engine). */
final class Options {

    static final String DEFAULT_CLUSTER_NAME = "espcap-test";
    static final String DEFAULT_NODE_NAME = "espcap-node-0";

    /** Options that take a value; "keep" and "exit-on-eof" are flags. */
    static final List<String> NAMES = List.of("http-port", "transport-port", "port-file", "work-dir", "data", "keep",
            "write-queue", "write-threads", "exit-on-eof", "node-name", "cluster-name", "seed-hosts",
            "cluster-managers", "replicas");

    String httpPort = "0";
    String transportPort = "0";
    Path portFile;
    Path workDir;
    Path dataDir;
    boolean keep;
    String writeQueue;
    String writeThreads;
    boolean exitOnEof;
    String nodeName = DEFAULT_NODE_NAME;
    String clusterName = DEFAULT_CLUSTER_NAME;
    /** host:port of the transport of every node of the cluster; empty = a single-node cluster. */
    final List<String> seedHosts = new ArrayList<>();
    /** node names for the first cluster manager election (only with seed hosts). */
    final List<String> clusterManagers = new ArrayList<>();
    /** default number of replicas of new indices; null = 0 alone, 1 in a cluster. */
    Integer replicas;
    /** -Ekey=value */
    final Map<String, String> extra = new LinkedHashMap<>();

    boolean clustered() {
        return !seedHosts.isEmpty();
    }

    static void usage(PrintStream out) {
        out.println("usage: java -jar espcap-testnode-FLAVOR.jar [--http-port N] [--transport-port N]");
        out.println("         [--port-file FILE] [--work-dir DIR] [--data DIR] [--keep]");
        out.println("         [--write-queue N] [--write-threads N] [--exit-on-eof]");
        out.println("         [--node-name NAME] [--cluster-name NAME] [--seed-hosts HOST:PORT,...]");
        out.println("         [--cluster-managers NAME,...] [--replicas N] [-Ekey=value ...]");
        out.println("every option may also be a system property espcap.node.<option>, e.g. -Despcap.node.http-port=0");
    }

    /** A bad command line; a null message asks for the usage text. */
    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static Options parse(String[] args) throws UsageException {
        Map<String, String> values = new LinkedHashMap<>();
        Options o = new Options();
        // system properties first, arguments override them
        for (String name : NAMES) {
            String v = System.getProperty("espcap.node." + name);
            if (v != null) {
                values.put(name, v);
            }
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                throw new UsageException(null);
            } else if (a.startsWith("-E")) {
                String kv = a.length() > 2 ? a.substring(2) : (i + 1 < args.length ? args[++i] : "");
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new UsageException("bad setting (want -Ekey=value): " + a);
                }
                o.extra.put(kv.substring(0, eq), kv.substring(eq + 1));
            } else if (a.equals("--keep") || a.equals("--exit-on-eof")) {
                values.put(a.substring(2), "true");
            } else if (a.startsWith("--")) {
                String name = a.substring(2);
                String value;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    value = name.substring(eq + 1);
                    name = name.substring(0, eq);
                } else if (i + 1 < args.length) {
                    value = args[++i];
                } else {
                    throw new UsageException("missing value for " + a);
                }
                values.put(name, value);
            } else {
                throw new UsageException("unexpected argument: " + a);
            }
        }
        for (Map.Entry<String, String> e : values.entrySet()) {
            String name = e.getKey();
            String v = e.getValue();
            switch (name) {
                case "http-port":
                    o.httpPort = port(name, v);
                    break;
                case "transport-port":
                    o.transportPort = port(name, v);
                    break;
                case "port-file":
                    o.portFile = Paths.get(v).toAbsolutePath();
                    break;
                case "work-dir":
                    o.workDir = Paths.get(v).toAbsolutePath();
                    break;
                case "data":
                    o.dataDir = Paths.get(v).toAbsolutePath();
                    break;
                case "keep":
                    o.keep = Boolean.parseBoolean(v);
                    break;
                case "write-queue":
                    o.writeQueue = number(name, v, -1);
                    break;
                case "write-threads":
                    o.writeThreads = number(name, v, 1);
                    break;
                case "exit-on-eof":
                    o.exitOnEof = Boolean.parseBoolean(v);
                    break;
                case "node-name":
                    o.nodeName = name(name, v);
                    break;
                case "cluster-name":
                    o.clusterName = name(name, v);
                    break;
                case "seed-hosts":
                    o.seedHosts.clear();
                    for (String h : list(v)) {
                        o.seedHosts.add(seedHost(h));
                    }
                    break;
                case "cluster-managers":
                    o.clusterManagers.clear();
                    for (String n : list(v)) {
                        o.clusterManagers.add(name(name, n));
                    }
                    break;
                case "replicas":
                    o.replicas = Integer.valueOf(number(name, v, 0));
                    break;
                default:
                    throw new UsageException("unknown option --" + name);
            }
        }
        if (!o.clusterManagers.isEmpty() && o.seedHosts.isEmpty()) {
            throw new UsageException("--cluster-managers needs --seed-hosts (the transport addresses of the cluster)");
        }
        return o;
    }

    private static List<String> list(String v) {
        List<String> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /** host:port, or a bare port (then on 127.0.0.1). */
    private static String seedHost(String h) throws UsageException {
        int colon = h.lastIndexOf(':');
        String host = colon < 0 ? "127.0.0.1" : h.substring(0, colon);
        String port = port("seed-hosts", colon < 0 ? h : h.substring(colon + 1));
        if (host.isEmpty() || port.equals("0")) {
            throw new UsageException("--seed-hosts wants HOST:PORT or PORT, got '" + h + "'");
        }
        return host + ":" + port;
    }

    private static String name(String option, String v) throws UsageException {
        String t = v.trim();
        if (t.isEmpty() || t.contains(",")) {
            throw new UsageException("--" + option + " wants a name, got '" + v + "'");
        }
        return t;
    }

    private static String port(String option, String v) throws UsageException {
        String n = number(option, v, 0);
        if (Integer.parseInt(n) > 65535) {
            throw new UsageException("--" + option + " wants a port (0-65535), got '" + v + "'");
        }
        return n;
    }

    private static String number(String option, String v, int min) throws UsageException {
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min) {
                throw new UsageException("--" + option + " wants a number >= " + min + ", got '" + v + "'");
            }
            return Integer.toString(n);
        } catch (NumberFormatException ex) {
            throw new UsageException("--" + option + " wants a number, got '" + v + "'");
        }
    }
}
