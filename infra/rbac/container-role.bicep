// One role assignment on one blob container: prediction callers read the promotion record in the routing
// container and nothing else of the app's storage (the snapshots and the run state stay out of reach).

@description('Name of the storage account, in the resource group this module is deployed to.')
param storageAccountName string

@description('Name of the blob container the role is scoped to.')
param containerName string

@description('Object ID of the principal that receives the role.')
param principalId string

@description('GUID of the role definition.')
param roleDefinitionId string

param principalType string = 'ServicePrincipal'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: containerName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, principalId, roleDefinitionId)
  scope: container
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

output id string = assignment.id
