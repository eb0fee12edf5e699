// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: what differs per search engine.  See tests/node/README.md.

package org.espcap.testnode;

import java.util.Map;

/**
 * The part of the test node launcher that depends on one search engine
 * (OpenSearch 2.x, OpenSearch 3.x, Elasticsearch 7.17).  This interface and the
 * rest of the launcher ({@link TestNode}, {@link Options}) use no engine class;
 * each engine has its own implementation in a source folder of its own
 * ({@code src/opensearch} + {@code src/os2} or {@code src/os3}, {@code src/es7}),
 * compiled by one Maven profile each, and is found with {@link java.util.ServiceLoader}.
 */
public interface Engine {

    /** Engine and version, e.g. "OpenSearch 3.9.0". */
    String description();

    /**
     * The setting that names the cluster-manager-eligible nodes of a new
     * cluster's first election: {@code cluster.initial_cluster_manager_nodes}
     * (OpenSearch) or {@code cluster.initial_master_nodes} (Elasticsearch 7).
     */
    String initialClusterManagersSetting();

    /**
     * Adds the engine-only settings to SETTINGS, given the number of replicas
     * new indices should get by default.
     *
     * @return false if the engine cannot set that default (Elasticsearch 7.17
     *         has no {@code cluster.default_number_of_replicas}: indices get 1)
     */
    boolean putDefaultReplicas(Map<String, String> settings, int replicas);

    /**
     * Configures the engine's logging from {@code path.home/config/log4j2.properties}
     * and starts a node with SETTINGS (string values; lists comma-separated).
     * Returns once the node has started (joined or formed its cluster, or given up
     * waiting for it after {@code discovery.initial_state_timeout}).
     */
    Started start(Map<String, String> settings) throws Exception;

    /** A running node. */
    interface Started {
        /** The port the HTTP server is bound to. */
        int httpPort();

        /** The port the transport (node-to-node) server is bound to. */
        int transportPort();

        /**
         * Closes the node and waits for it.
         *
         * @return false if it did not close within TIMEOUT_SECONDS
         */
        boolean close(long timeoutSeconds) throws Exception;
    }
}
