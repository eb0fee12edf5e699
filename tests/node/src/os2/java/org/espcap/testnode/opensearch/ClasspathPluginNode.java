// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: an OpenSearch 2.x Node with the netty4 plugin taken from
// the class path.  OpenSearch 3.x has its own (src/os3).

package org.espcap.testnode.opensearch;

import java.util.List;

import org.opensearch.env.Environment;
import org.opensearch.node.Node;
import org.opensearch.transport.Netty4Plugin;

/** 2.x: Node's protected constructor takes the plugin classes themselves. */
final class ClasspathPluginNode extends Node {

    private ClasspathPluginNode(Environment environment) {
        // forbidPrivateIndexSettings = true, as in a normal node
        super(environment, List.of(Netty4Plugin.class), true);
    }

    static Node create(Environment environment) {
        return new ClasspathPluginNode(environment);
    }
}
