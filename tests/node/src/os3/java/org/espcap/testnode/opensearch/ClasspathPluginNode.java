// SPDX-License-Identifier: GPL-2.0-or-later
//
// espcap test node: an OpenSearch 3.x Node with the netty4 plugin taken from
// the class path.  OpenSearch 2.x has its own (src/os2).

package org.espcap.testnode.opensearch;

import java.util.List;

import org.opensearch.Version;
import org.opensearch.env.Environment;
import org.opensearch.node.Node;
import org.opensearch.plugins.PluginInfo;
import org.opensearch.transport.Netty4ModulePlugin;

/**
 * 3.x: Node's protected constructor takes a description of each class-path
 * plugin (a {@link PluginInfo} naming its class) instead of the class, and the
 * netty4 plugin class is now Netty4ModulePlugin.
 */
final class ClasspathPluginNode extends Node {

    private ClasspathPluginNode(Environment environment, List<PluginInfo> plugins) {
        // forbidPrivateIndexSettings = true, as in a normal node
        super(environment, plugins, true);
    }

    static Node create(Environment environment) {
        String version = Version.CURRENT.toString();
        PluginInfo netty4 = new PluginInfo(
                "transport-netty4",                       // name
                "netty4 transport and HTTP (class path)", // description
                version,                                  // plugin version
                Version.CURRENT,                          // OpenSearch version it is built for
                Runtime.version().feature() + "",         // Java version
                Netty4ModulePlugin.class.getName(),       // class to instantiate
                null,                                     // folder name (none: class path)
                List.of(),                                // plugins it extends
                false);                                   // no native controller
        return new ClasspathPluginNode(environment, List.of(netty4));
    }
}
