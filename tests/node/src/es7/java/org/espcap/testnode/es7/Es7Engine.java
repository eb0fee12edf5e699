// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: the Elasticsearch 7.17 adapter.  See tests/node/README.md.

package org.espcap.testnode.es7;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.Version;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.http.HttpServerTransport;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.transport.Netty4Plugin;
import org.elasticsearch.transport.TransportService;
import org.espcap.testnode.Engine;

/** Elasticsearch 7.17 (server jar only: no x-pack, so no unsigned_long). */
public final class Es7Engine implements Engine {

    /** A Node with the netty4 plugin taken from the class path. */
    private static final class ClasspathPluginNode extends Node {
        ClasspathPluginNode(Environment environment) {
            // forbidPrivateIndexSettings = true, as in a normal node
            super(environment, List.of(Netty4Plugin.class), true);
        }
    }

    @Override
    public String description() {
        return "Elasticsearch " + Version.CURRENT;
    }

    @Override
    public String initialClusterManagersSetting() {
        return "cluster.initial_master_nodes";
    }

    @Override
    public boolean putDefaultReplicas(Map<String, String> settings, int replicas) {
        // no cluster.default_number_of_replicas in 7.17: new indices get 1 replica
        return replicas == 1;
    }

    @Override
    public Started start(Map<String, String> map) throws Exception {
        Settings.Builder b = Settings.builder();
        map.forEach(b::put);
        Settings settings = b.build();
        String nodeName = map.get("node.name");
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), null,
                () -> nodeName);
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(nodeName);
        LogConfigurator.configure(env);

        Node node = new ClasspathPluginNode(env);
        try {
            node.start();
        } catch (Throwable t) {
            try {
                node.close();
            } catch (Exception e) {
                t.addSuppressed(e);
            }
            throw t;
        }
        return new Started() {
            @Override
            public int httpPort() {
                return node.injector().getInstance(HttpServerTransport.class).boundAddress().publishAddress().getPort();
            }

            @Override
            public int transportPort() {
                return node.injector().getInstance(TransportService.class).boundAddress().publishAddress().getPort();
            }

            @Override
            public boolean close(long timeoutSeconds) throws Exception {
                node.close();
                return node.awaitClose(timeoutSeconds, TimeUnit.SECONDS);
            }
        };
    }
}
