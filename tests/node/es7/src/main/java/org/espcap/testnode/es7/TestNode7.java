// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: a real single-node Elasticsearch 7.17 started in-process for the
// test suite (never a mock).  See tests/node/README.md.

package org.espcap.testnode.es7;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.common.transport.TransportAddress;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.transport.Netty4Plugin;

/**
 * A {@link Node} with the netty4 transport/HTTP plugin loaded from the class
 * path (the same mechanism Elasticsearch's own MockNode uses), plus a small
 * command-line front end.
 *
 * <pre>
 * java -jar espcap-testnode-es7.jar [options] [-Ekey=value ...]
 *   --http-port N      HTTP port on 127.0.0.1; 0 (default) = pick a free one
 *   --port-file FILE   once the node is up, write the bound HTTP port to FILE
 *                      (atomically: written to FILE.tmp, then renamed)
 *   --work-dir DIR     folder for path.home, path.data, path.logs
 *                      (default: a fresh temporary folder); deleted at exit
 *   --data DIR         path.data elsewhere (kept at exit)
 *   --keep             do not delete the work folder at exit
 *   --write-queue N    thread_pool.write.queue_size
 *   --write-threads N  thread_pool.write.size
 *   --exit-on-eof      stop when standard input reaches end of file
 *   -Ekey=value, -E key=value   any other node setting
 * </pre>
 *
 * Every option can also be given as a system property
 * {@code espcap.node.<option>} (e.g. {@code -Despcap.node.http-port=9250});
 * command-line arguments win.  Logging goes to {@code <work>/logs/} at WARN;
 * {@code -Elogger.level=INFO} raises it.
 */
public final class TestNode7 extends Node {

    /** Plugins loaded from the class path instead of a plugins/ folder. */
    static final List<Class<? extends Plugin>> CLASSPATH_PLUGINS = List.of(Netty4Plugin.class);

    public static final String CLUSTER_NAME = "espcap-test";
    public static final String NODE_NAME = "espcap-es7-node-0";

    public TestNode7(Environment environment) {
        // forbidPrivateIndexSettings = true, as in a normal node
        super(environment, CLASSPATH_PLUGINS, true);
    }

    /** The port the HTTP transport is bound to (valid after {@link #start()}). */
    public int httpPort() {
        TransportAddress address = injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress();
        return address.getPort();
    }

    // ------------------------------------------------------------------ options

    static final class Options {
        String httpPort;
        Path portFile;
        Path workDir;
        Path dataDir;
        boolean keep;
        String writeQueue;
        String writeThreads;
        boolean exitOnEof;
        final Map<String, String> extra = new LinkedHashMap<>();
    }

    private static void usage(PrintStream out) {
        out.println("usage: java -jar espcap-testnode-es7.jar [--http-port N] [--port-file FILE] [--work-dir DIR]");
        out.println("         [--data DIR] [--keep] [--write-queue N] [--write-threads N] [--exit-on-eof]");
        out.println("         [-Ekey=value ...]");
        out.println("every option may also be a system property espcap.node.<option>, e.g. -Despcap.node.http-port=0");
    }

    private static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    static Options parse(String[] args) throws UsageException {
        Map<String, String> values = new LinkedHashMap<>();
        Options o = new Options();
        // system properties first, arguments override them
        for (String name : List.of("http-port", "port-file", "work-dir", "data", "keep", "write-queue",
                "write-threads", "exit-on-eof")) {
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
            String v = e.getValue();
            switch (e.getKey()) {
                case "http-port":
                    o.httpPort = requireNumber(e.getKey(), v);
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
                    o.writeQueue = requireNumber(e.getKey(), v);
                    break;
                case "write-threads":
                    o.writeThreads = requireNumber(e.getKey(), v);
                    break;
                case "exit-on-eof":
                    o.exitOnEof = Boolean.parseBoolean(v);
                    break;
                default:
                    throw new UsageException("unknown option --" + e.getKey());
            }
        }
        return o;
    }

    private static String requireNumber(String name, String v) throws UsageException {
        try {
            Integer.parseInt(v.trim());
            return v.trim();
        } catch (NumberFormatException ex) {
            throw new UsageException("--" + name + " wants a number, got '" + v + "'");
        }
    }

    // ----------------------------------------------------------------- settings

    static Settings buildSettings(Options o, Path home, Path data, Path logs) {
        Settings.Builder b = Settings.builder()
                .put("cluster.name", CLUSTER_NAME)
                .put("node.name", NODE_NAME)
                .put("path.home", home.toString())
                .put("path.data", data.toString())
                .put("path.logs", logs.toString())
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", o.httpPort == null ? "0" : o.httpPort)
                .put("transport.port", "0")
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                // a test machine's disk may be fuller than the default watermarks allow
                .put("cluster.routing.allocation.disk.threshold_enabled", false);
        // (Elasticsearch 7.17 has no cluster.default_number_of_replicas: new indices
        // get 1 replica and stay yellow on one node unless a template says 0)
        if (o.writeQueue != null) {
            b.put("thread_pool.write.queue_size", o.writeQueue);
        }
        if (o.writeThreads != null) {
            b.put("thread_pool.write.size", o.writeThreads);
        }
        for (Map.Entry<String, String> e : o.extra.entrySet()) {
            b.put(e.getKey(), e.getValue());
        }
        return b.build();
    }

    // --------------------------------------------------------------------- main

    public static void main(String[] args) {
        Options o;
        try {
            o = parse(args);
        } catch (UsageException e) {
            if (e.getMessage() == null) {
                usage(System.out);
                System.exit(0);
            }
            System.err.println("espcap-testnode: " + e.getMessage());
            usage(System.err);
            System.exit(2);
            return;
        }
        int rc = run(o);
        if (rc != 0) {
            System.exit(rc);
        }
    }

    static int run(Options o) {
        final Path work;
        final boolean deleteWork = !o.keep;
        try {
            if (o.workDir != null) {
                work = Files.createDirectories(o.workDir);
            } else {
                work = Files.createTempDirectory("espcap-node-");
            }
        } catch (IOException e) {
            System.err.println("espcap-testnode: cannot create the work folder: " + e);
            return 1;
        }
        final Path home = work.resolve("home");
        final Path logs = work.resolve("logs");
        final Path data = o.dataDir != null ? o.dataDir : work.resolve("data");
        final CountDownLatch stopped = new CountDownLatch(1);
        final TestNode7[] holder = new TestNode7[1];

        // SIGTERM / SIGINT / System.exit: close the node, then remove the work folder
        Thread hook = new Thread(() -> {
            TestNode7 node;
            synchronized (holder) {
                node = holder[0];
                holder[0] = null;
            }
            if (node != null) {
                try {
                    node.close();
                    if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                        System.err.println("espcap-testnode: node did not close within 30 s");
                    }
                } catch (Exception e) {
                    System.err.println("espcap-testnode: error while closing: " + e);
                }
            }
            if (deleteWork) {
                deleteTree(work);
            }
            stopped.countDown();
        }, "espcap-testnode-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        try {
            Files.createDirectories(home.resolve("config"));
            Files.createDirectories(logs);
            Files.createDirectories(data);
            try (InputStream in = TestNode7.class.getResourceAsStream("log4j2.properties")) {
                if (in == null) {
                    throw new IOException("log4j2.properties resource missing from the jar");
                }
                Files.copy(in, home.resolve("config").resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
            }

            Settings settings = buildSettings(o, home, data, logs);
            Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), null,
                    () -> NODE_NAME);
            LogConfigurator.registerErrorListener();
            LogConfigurator.setNodeName(NODE_NAME);
            // configure() redirects System.out/err into log4j loggers; keep the real
            // streams, the launcher's callers read the start-up line and errors there
            PrintStream realOut = System.out;
            PrintStream realErr = System.err;
            try {
                LogConfigurator.configure(env);
            } finally {
                System.setOut(realOut);
                System.setErr(realErr);
            }

            long t0 = System.nanoTime();
            TestNode7 node = new TestNode7(env);
            synchronized (holder) {
                holder[0] = node;
            }
            node.start();
            int port = node.httpPort();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (o.portFile != null) {
                writeAtomically(o.portFile, port + "\n");
            }
            System.out.println("espcap-testnode: started " + NODE_NAME + " in " + ms + " ms; http://127.0.0.1:" + port
                    + " work=" + work + " pid=" + ProcessHandle.current().pid());
            System.out.flush();
        } catch (Throwable t) {
            t.printStackTrace(System.err);
            Throwable root = t;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            System.err.println("espcap-testnode: failed to start the node: " + t);
            if (root != t) {
                System.err.println("espcap-testnode: root cause: " + root);
            }
            System.err.println("espcap-testnode: logs in " + logs + (deleteWork ? " (deleted at exit)" : ""));
            return 1;
        }

        if (o.exitOnEof) {
            Thread watcher = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                    while (r.readLine() != null) {
                        // ignore input
                    }
                } catch (IOException ignored) {
                    // treat as EOF
                }
                System.exit(0);
            }, "espcap-testnode-stdin");
            watcher.setDaemon(true);
            watcher.start();
        }

        // keep the JVM alive until the shutdown hook has run (node threads may be daemons)
        while (true) {
            try {
                stopped.await();
                return 0;
            } catch (InterruptedException e) {
                // keep waiting
            }
        }
    }

    static void writeAtomically(Path target, String content) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.write(tmp, content.getBytes(StandardCharsets.US_ASCII));
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        final List<IOException> errors = new ArrayList<>();
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<Path>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    try {
                        Files.deleteIfExists(file);
                    } catch (IOException e) {
                        errors.add(e);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) {
                    try {
                        Files.deleteIfExists(dir);
                    } catch (IOException e) {
                        errors.add(e);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            errors.add(e);
        }
        if (!errors.isEmpty()) {
            System.err.println("espcap-testnode: could not delete all of " + root + ": " + errors.get(0));
        }
    }
}
