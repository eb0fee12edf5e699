// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: a real OpenSearch / Elasticsearch node started in-process
// for the test suite (never a mock).  See tests/node/README.md.

package org.espcap.testnode;

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
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;

/**
 * The launcher's front end, the same for every engine: options, folders, the
 * settings common to all engines, log configuration, port file, shutdown.  What
 * differs per engine is behind {@link Engine}; the jar of each flavour holds
 * exactly one implementation.
 *
 * <pre>
 * java -jar espcap-testnode-FLAVOR.jar [options] [-Ekey=value ...]
 *   --http-port N        HTTP port on 127.0.0.1; 0 (default) = pick a free one
 *   --transport-port N   transport (node-to-node) port; 0 (default) = a free one
 *   --port-file FILE     once the node is up, write the bound HTTP port to FILE
 *                        (atomically: written to FILE.tmp, then renamed)
 *   --work-dir DIR       folder for path.home, path.data, path.logs
 *                        (default: a fresh temporary folder); deleted at exit
 *   --data DIR           path.data elsewhere (kept at exit)
 *   --keep               do not delete the work folder at exit
 *   --write-queue N      thread_pool.write.queue_size
 *   --write-threads N    thread_pool.write.size
 *   --exit-on-eof        stop when standard input reaches end of file
 *   --node-name NAME     node.name (default espcap-node-0)
 *   --cluster-name NAME  cluster.name (default espcap-test)
 *   --seed-hosts H:P,..  join a cluster: discovery.seed_hosts (a bare port means
 *                        127.0.0.1:port); without it the node is a single-node cluster
 *   --cluster-managers N1,N2,..  node names of a new cluster's first election
 *                        (cluster.initial_cluster_manager_nodes / initial_master_nodes)
 *   --replicas N         default replicas of new indices (0 alone, 1 in a cluster)
 *   -Ekey=value, -E key=value   any other node setting
 * </pre>
 *
 * Every option can also be given as a system property
 * {@code espcap.node.<option>} (e.g. {@code -Despcap.node.http-port=9250});
 * command-line arguments win.  Logging goes to {@code <work>/logs/} at WARN;
 * {@code -Elogger.level=INFO} raises it.
 */
public final class TestNode {

    private TestNode() {
    }

    /** The system property the log4j2.properties resource takes the log file from. */
    static final String LOG_FILE_PROPERTY = "espcap.testnode.log.file";

    /** The engine compiled into this jar. */
    static Engine engine() {
        Iterator<Engine> it = ServiceLoader.load(Engine.class, TestNode.class.getClassLoader()).iterator();
        if (!it.hasNext()) {
            throw new IllegalStateException("no " + Engine.class.getName() + " in this jar (built without a flavour?)");
        }
        Engine e = it.next();
        if (it.hasNext()) {
            throw new IllegalStateException("more than one engine on the class path: " + e.description() + ", "
                    + it.next().description());
        }
        return e;
    }

    // ----------------------------------------------------------------- settings

    /** The node settings: common ones, then the engine's, then -E ones. */
    static Map<String, String> buildSettings(Engine engine, Options o, Path home, Path data, Path logs) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("cluster.name", o.clusterName);
        s.put("node.name", o.nodeName);
        s.put("path.home", home.toString());
        s.put("path.data", data.toString());
        s.put("path.logs", logs.toString());
        s.put("network.host", "127.0.0.1");
        s.put("http.port", o.httpPort);
        s.put("transport.port", o.transportPort);
        s.put("http.type", "netty4");
        s.put("transport.type", "netty4");
        // a test machine's disk may be fuller than the default watermarks allow
        s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        if (o.clustered()) {
            s.put("discovery.seed_hosts", String.join(",", o.seedHosts));
            if (!o.clusterManagers.isEmpty()) {
                s.put(engine.initialClusterManagersSetting(), String.join(",", o.clusterManagers));
            }
        } else {
            s.put("discovery.type", "single-node");
        }
        // alone, a node holds no replicas: keep new indices green; in a cluster, 1
        int replicas = o.replicas != null ? o.replicas : (o.clustered() ? 1 : 0);
        if (!engine.putDefaultReplicas(s, replicas) && o.replicas != null) {
            System.err.println("espcap-testnode: warning: " + engine.description()
                    + " has no default number of replicas; --replicas " + o.replicas
                    + " ignored (new indices get 1: give templates number_of_replicas)");
        }
        if (o.writeQueue != null) {
            s.put("thread_pool.write.queue_size", o.writeQueue);
        }
        if (o.writeThreads != null) {
            s.put("thread_pool.write.size", o.writeThreads);
        }
        s.putAll(o.extra);
        return s;
    }

    // --------------------------------------------------------------------- main

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (Options.UsageException e) {
            if (e.getMessage() == null) {
                Options.usage(System.out);
                System.exit(0);
            }
            System.err.println("espcap-testnode: " + e.getMessage());
            Options.usage(System.err);
            System.exit(2);
            return;
        }
        int rc = run(engine(), o);
        if (rc != 0) {
            System.exit(rc);
        }
    }

    static int run(Engine engine, Options o) {
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
        final List<Engine.Started> holder = new ArrayList<>(1);

        // SIGTERM / SIGINT / System.exit: close the node, then remove the work folder
        Thread hook = new Thread(() -> {
            Engine.Started node;
            synchronized (holder) {
                node = holder.isEmpty() ? null : holder.remove(0);
            }
            if (node != null) {
                try {
                    if (!node.close(30)) {
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
            try (InputStream in = TestNode.class.getResourceAsStream("log4j2.properties")) {
                if (in == null) {
                    throw new IOException("log4j2.properties resource missing from the jar");
                }
                Files.copy(in, home.resolve("config").resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
            }
            System.setProperty(LOG_FILE_PROPERTY, logs.resolve(o.clusterName + ".log").toString());

            Map<String, String> settings = buildSettings(engine, o, home, data, logs);
            long t0 = System.nanoTime();
            // configuring the engine's logging redirects System.out/err into log4j
            // loggers; keep the real streams, the launcher's callers read them
            PrintStream realOut = System.out;
            PrintStream realErr = System.err;
            Engine.Started node;
            try {
                node = engine.start(settings);
            } finally {
                System.setOut(realOut);
                System.setErr(realErr);
            }
            synchronized (holder) {
                holder.add(node);
            }
            int port = node.httpPort();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (o.portFile != null) {
                writeAtomically(o.portFile, port + "\n");
            }
            System.out.println("espcap-testnode: started " + o.nodeName + " (" + engine.description() + ") in " + ms
                    + " ms; http://127.0.0.1:" + port + " transport " + node.transportPort() + " work=" + work
                    + " pid=" + ProcessHandle.current().pid());
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
