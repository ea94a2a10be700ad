// One role assignment on one storage account. The caller names the role; its GUID and role name are listed
// once, in main.bicep's roles variable.

@description('Name of the storage account, in the resource group this module is deployed to.')
param storageAccountName string

@description('Object ID of the principal that receives the role.')
param principalId string

@description('GUID of the role definition.')
param roleDefinitionId string

param principalType string = 'ServicePrincipal'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roleDefinitionId)
  scope: storage
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

output id string = assignment.id
