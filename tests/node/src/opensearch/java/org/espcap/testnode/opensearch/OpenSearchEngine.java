// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: the OpenSearch adapter, shared by OpenSearch 2.x (src/os2)
// and 3.x (src/os3), whose only difference, the Node constructor, is in
// ClasspathPluginNode.  See tests/node/README.md.

package org.espcap.testnode.opensearch;

import java.util.Collections;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.espcap.testnode.Engine;
import org.opensearch.Version;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.transport.TransportService;

/** OpenSearch 2.x or 3.x, whichever ClasspathPluginNode was compiled with. */
public final class OpenSearchEngine implements Engine {

    @Override
    public String description() {
        return "OpenSearch " + Version.CURRENT;
    }

    @Override
    public String initialClusterManagersSetting() {
        return "cluster.initial_cluster_manager_nodes";
    }

    @Override
    public boolean putDefaultReplicas(Map<String, String> settings, int replicas) {
        settings.put("cluster.default_number_of_replicas", Integer.toString(replicas));
        return true;
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

        Node node = ClasspathPluginNode.create(env);
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
